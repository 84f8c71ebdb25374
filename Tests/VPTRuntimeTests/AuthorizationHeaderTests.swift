import Testing
import VPTContract

@testable import VPTRuntime

/// Credentials read from headers and keys, on the byte-level parsers the serving path uses.
@Suite struct AuthorizationHeaderTests {
    @Test func schemesAndValues() {
        #expect(AuthorizationHeader.value("Tecton-key vpt_acme_0123456789ab_s3cr_et", scheme: "Tecton-key") == "vpt_acme_0123456789ab_s3cr_et")
        #expect(AuthorizationHeader.value("tecton-KEY   abc \t", scheme: "Tecton-key") == "abc")
        #expect(AuthorizationHeader.value("Bearer abc", scheme: "Tecton-key") == nil)
        #expect(AuthorizationHeader.value("Tecton-keyabc", scheme: "Tecton-key") == nil)
        #expect(AuthorizationHeader.value("Tecton-key    ", scheme: "Tecton-key") == nil)
        #expect(AuthorizationHeader.value("Tecton-key", scheme: "Tecton-key") == nil)
        #expect(AuthorizationHeader.value("Bearer tøken-ü", scheme: "bearer") == "tøken-ü")
    }

    @Test func keyParts() {
        #expect(APIKeyFormat.parse("vpt_acme-eu_0123456789ab_secret_with_underscores")! == ("acme-eu", "0123456789ab"))
        #expect(APIKeyFormat.parse("vpt__0123456789ab_secret") == nil)
        #expect(APIKeyFormat.parse("vpt_acme_0123456789a_secret") == nil)
        #expect(APIKeyFormat.parse("vpt_acme_0123456789ab") == nil)
        #expect(APIKeyFormat.parse("xpt_acme_0123456789ab_s") == nil)
    }
}
