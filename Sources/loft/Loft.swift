@main struct Loft { static func main() {} }
