import Foundation

/// A self-signed P-256 certificate for `localhost`/127.0.0.1 (valid until 2126) and its key, for
/// TLS tests only. Made with `openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256`.
public enum TestCertificate {
    public static let certificatePEM = """
        -----BEGIN CERTIFICATE-----
        MIIBrDCCAVGgAwIBAgIUcfAV6xkED+0K5KvGrMTrdYojAAMwCgYIKoZIzj0EAwIw
        FDESMBAGA1UEAwwJbG9jYWxob3N0MCAXDTI2MTEyNjE3MTQyM1oYDzIxMjYxMTAy
        MTcxNDIzWjAUMRIwEAYDVQQDDAlsb2NhbGhvc3QwWTATBgcqhkjOPQIBBggqhkjO
        PQMBBwNCAATXRVu5xCdum7coBFHVkCIDtO5JcbqebQZIrrKq542YHCPlAoa5ce9H
        S8ioRy1YbhDncm65g1BU2LCrDDjkWEEWo38wfTAdBgNVHQ4EFgQU7BWo5Tcp697w
        zftmJnb0u+bgmJIwHwYDVR0jBBgwFoAU7BWo5Tcp697wzftmJnb0u+bgmJIwGgYD
        VR0RBBMwEYIJbG9jYWxob3N0hwR/AAABMA8GA1UdEwEB/wQFMAMBAf8wDgYDVR0P
        AQH/BAQDAgKEMAoGCCqGSM49BAMCA0kAMEYCIQCHXK4ZgPX/FyKi5cygo1lp+X93
        iM1hEa5zN85Nnn/Z1QIhAOG2lyrqOCBCBVDbbyfMi4Ybm/CWkmP7wyd6wHKke54j
        -----END CERTIFICATE-----
        """

    public static let keyPEM = """
        -----BEGIN PRIVATE KEY-----
        MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgFiNikfMtaNpQe26J
        KitaEgUHtjVEINHtwrsan6sZmvihRANCAATXRVu5xCdum7coBFHVkCIDtO5Jcbqe
        bQZIrrKq542YHCPlAoa5ce9HS8ioRy1YbhDncm65g1BU2LCrDDjkWEEW
        -----END PRIVATE KEY-----
        """

    /// Writes both files into a new temporary directory; returns their paths.
    public static func write() throws -> (certificate: String, key: String) {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("loft-tls-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let certificate = dir.appendingPathComponent("cert.pem").path
        let key = dir.appendingPathComponent("key.pem").path
        try certificatePEM.write(toFile: certificate, atomically: true, encoding: .utf8)
        try keyPEM.write(toFile: key, atomically: true, encoding: .utf8)
        return (certificate, key)
    }
}
