import Testing

@testable import VPTModel
import VPTTestSupport

@Suite struct CIDRBlockTests {
    @Test func parsesAndPrints() throws {
        let block = try CIDRBlock.parse("10.42.0.0/20").get()
        #expect(block.description == "10.42.0.0/20")
        #expect(block.size == 4096)
        #expect(CIDRBlock(network: block.lastAddress, prefixLength: 32).description == "10.42.15.255/32")
    }

    @Test(arguments: ["10.0.0/16", "10.0.0.0", "256.0.0.0/16", "10.0.0.0/33", "a.b.c.d/8", "10.0.0.0/", "10..0.0/8"])
    func refusesSyntax(_ text: String) {
        #expect(CIDRBlock.parse(text) == .failure(.syntax))
    }

    @Test func overlapAndContainment() throws {
        let a = try CIDRBlock.parse("10.0.0.0/16").get()
        let b = try CIDRBlock.parse("10.0.255.240/28").get()
        let c = try CIDRBlock.parse("10.1.0.0/16").get()
        #expect(a.overlaps(b) && b.overlaps(a) && a.contains(b) && !b.contains(a))
        #expect(!a.overlaps(c) && !c.overlaps(a))
    }

    @Test func subnetsForTwoZones() throws {
        #expect(try CIDRBlock.parse("10.0.0.0/16").get().availabilityZoneSubnets.map(\.description) == ["10.0.0.0/18", "10.0.64.0/18"])
        #expect(try CIDRBlock.parse("10.0.0.0/27").get().availabilityZoneSubnets.map(\.description) == ["10.0.0.0/28", "10.0.0.16/28"])
        #expect(try CIDRBlock.parse("10.0.0.16/28").get().availabilityZoneSubnets.map(\.description) == ["10.0.0.16/28"])
    }
}
