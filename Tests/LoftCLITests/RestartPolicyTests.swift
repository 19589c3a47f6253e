import Testing

@testable import loft

/// `loft serve`'s restart decisions (issue 14: the back-off must start again after a healthy run).
@Suite struct RestartPolicyTests {
    @Test(arguments: [
        // restarts so far, seconds it ran, exited with EX_CONFIG, → decision (maxDelay 30 s)
        (0, 0.2, false, RestartPolicy.Decision.restart(after: 0.5, restarts: 1)),
        (1, 0.2, false, .restart(after: 1, restarts: 2)),
        (4, 3, false, .restart(after: 8, restarts: 5)),
        (7, 9.9, false, .restart(after: 30, restarts: 8)),  // capped at maxDelay
        // A run of 10 s or more was healthy: the next exit starts again at 0.5 s.
        (6, 10, false, .restart(after: 0.5, restarts: 1)),
        (9, 3600, false, .restart(after: 0.5, restarts: 1)),
        (9, 1, false, .restart(after: 30, restarts: 10)),
        (10, 1, false, .giveUp),  // the eleventh quick exit in a row
        (0, 3600, true, .leaveStopped),  // a port in use: starting again cannot help
    ])
    func decisions(restarts: Int, ranFor: Double, configurationError: Bool, expected: RestartPolicy.Decision) {
        #expect(RestartPolicy.decide(restarts: restarts, ranFor: ranFor, configurationError: configurationError, maxDelay: 30) == expected)
    }
}
