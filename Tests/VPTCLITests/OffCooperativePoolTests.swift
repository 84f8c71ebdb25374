import Testing
import VPTTestSupport

@Suite struct OffCooperativePoolTests {
    @Suite(.offCooperativePool) struct Marked {
        @Test func runsOnThreadsOfItsOwn() { #expect(BlockingExecutor.isCurrent) }
        @Test(arguments: [1, 2]) func soDoesEachCase(_ n: Int) { #expect(BlockingExecutor.isCurrent, "case \(n)") }
    }

    @Test func unmarkedTestsStayOnThePool() { #expect(!BlockingExecutor.isCurrent) }
}
