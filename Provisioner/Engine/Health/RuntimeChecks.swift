import Foundation

/// The tenant's processes: supervisor, control plane and data plane alive, not stopped, and ready.
enum RuntimeChecks {
    static let all = [plane("control-plane", "Control plane alive and ready"), plane("data-plane", "Data plane alive and ready")]

    static func plane(_ name: String, _ title: String) -> HealthCheck {
        HealthCheck(
            id: "runtime.\(name)", title: title, threshold: "process alive, not stopped, /readyz answers 200", onTimeout: .fail,
            remedyOnTimeout: "the \(name) does not answer (frozen or overloaded): restart it with `vpt tenant stop` and `vpt tenant start`"
        ) { probe in
            guard probe.runtimeEnabled else {
                return Verdict(status: .unknown, observed: "the fleet's runtime is off (vpt init --no-runtime)",
                               remedy: "nothing runs on this fleet; health of processes is not known")
            }
            let start = "`vpt tenant start \(probe.name)`"
            let log = probe.paths.runDirectory(probe.name).appendingPathComponent("\(name).log").path
            let launcher = RuntimeLauncher(paths: probe.paths)
            guard let pid = launcher.livePid(probe.name, name) else {
                let supervisor = launcher.livePid(probe.name, "supervisor") == nil ? "supervisor not running either" : "supervisor alive, restarting it"
                // A plane that cannot start (its port held, its store unreadable) says why on its log's last line.
                let exited = RuntimeLauncher.exitError(inLog: log).map { "; it last exited with: \($0)" } ?? ""
                return Verdict(status: .fail, observed: "not running (\(supervisor))\(exited)", remedy: "run \(start); see \(log)")
            }
            if RuntimeLauncher.processState(pid) == "T" {
                return Verdict(status: .fail, observed: "pid \(pid) is stopped (SIGSTOP)",
                               remedy: "send SIGCONT to \(pid), or restart with `vpt tenant stop` and \(start)")
            }
            guard let url = name == "control-plane" ? probe.controlPlaneURL : probe.dataPlaneURL else {
                return probe.configMissing
            }
            let began = Date()
            do {
                let (status, _) = try probe.text(url.appendingPathComponent("readyz"))
                let ms = Date().timeIntervalSince(began) * 1000
                guard status == 200 else {
                    return Verdict(status: .fail, observed: "pid \(pid), /readyz answered \(status)", remedy: "see \(log)")
                }
                return .ok("pid \(pid), ready (\(String(format: "%.1f", ms)) ms)")
            } catch {
                return Verdict(status: .fail, observed: "pid \(pid), /readyz unreachable: \(error)",
                               remedy: "see \(log); restart with `vpt tenant stop` and \(start)")
            }
        }
    }
}
