import VPTCLI

/// Entry point of the `vpt` executable: everything lives in `VPTCLI`.
@main
enum VPTMain {
    static func main() async {
        await VPT.main()
    }
}
