import Foundation
import LakeTestSupport
import Testing

@Suite struct CaseAndDatasetTests {
    static let run = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/vtk/run").path

    /// Uploads a block of the run fixture (processed before this returns).
    func upload(_ lake: LakeBinary, _ name: String, _ extra: [String] = []) throws -> [String: Any] {
        let result = try lake.run(["upload", "\(Self.run)/\(name)", "--json"] + extra)
        let objects = try #require(try lake.json(result)["succeeded"] as? [[String: Any]], "\(result.stderr)")
        return objects[0]
    }

    func field(_ entity: [String: Any], _ label: String) -> [String: Any]? {
        (entity["provisions"] as? [[String: Any]])?.compactMap { $0["field"] as? [String: Any] }.first { $0["label"] as? String == label }
    }

    func magnitude(_ field: [String: Any]?) -> [String: Any] { field?["magnitude_stats"] as? [String: Any] ?? [:] }

    @Test func aCaseUnitesParamsThroughMappingsAndPoolsFields() throws {
        let lake = LakeBinary()
        try lake.initStore()
        let a = try upload(lake, "run_0.vtu", ["--param", "mach=0.8", "--param", "aoa=2@deg", "--tag", "project=wing"])
        let b = try upload(lake, "run_1.vtu", ["--param", "mach=0.8", "--param", "aoa=4@deg"])
        let (idA, idB) = (a["id"] as! String, b["id"] as! String)
        let created = try lake.run(["case", "create", "--object", "\(idA):left", "--object", "\(idB):right", "--param-map", "\(idB):aoa=aoa_right",
                                    "--field-map", "\(idB):rank=", "--param", "solver=rans", "--tag", "k=v", "--name", "c1", "--json"])
        #expect(created.succeeded, "\(created.stderr)")
        let item = try lake.json(created)
        #expect(item["status"] as? String == "READY")
        let params = item["params"] as? [String: [String: Any]] ?? [:]
        #expect(Set(params.keys) == ["mach", "aoa", "aoa_right", "solver"])
        #expect(params["aoa_right"]?["value"] as? Double == 4 && params["aoa_right"]?["units"] as? String == "deg")
        // p collapses into one field: counts add up, min/max/mean pool exactly.
        let (pa, pb, pc) = (magnitude(field(a, "p")), magnitude(field(b, "p")), magnitude(field(item, "p")))
        let (na, nb) = (pa["count"] as! Double, pb["count"] as! Double)
        #expect(pc["count"] as? Double == na + nb)
        #expect(pc["min"] as? Double == min(pa["min"] as! Double, pb["min"] as! Double))
        #expect(pc["max"] as? Double == max(pa["max"] as! Double, pb["max"] as! Double))
        let mean = ((pa["mean"] as! Double) * na + (pb["mean"] as! Double) * nb) / (na + nb)
        #expect(abs((pc["mean"] as! Double) - mean) <= 1e-12 * max(1, abs(mean)))
        #expect((pc["hist128"] as? [Double])?.reduce(0, +) == na + nb)
        // rank was dropped from the second member: only the first one's values remain.
        #expect(magnitude(field(item, "rank"))["count"] as? Double == magnitude(field(a, "rank"))["count"] as? Double)
        #expect(field(item, "p")?["num_tuples"] as? Double == (field(a, "p")?["num_tuples"] as! Double) + (field(b, "p")?["num_tuples"] as! Double))
    }

    @Test func membersAnnotatingOneFieldDifferentlyMakeTheCaseInvalid() throws {
        let lake = LakeBinary()
        try lake.initStore()
        let a = try upload(lake, "run_0.vtu", ["--annotate", "p:POINT=PRESSURE@Pa"])["id"] as! String
        let b = try upload(lake, "run_1.vtu")["id"] as! String
        let item = try lake.json(try lake.run(["case", "create", "--object", a, "--object", b, "--json"]))
        #expect(item["status"] as? String == "INVALID")
        let reason = item["failure_reason"] as? String ?? ""
        #expect(reason.contains("'p'") && reason.contains("PRESSURE") && reason.contains(a) && reason.contains(b), "\(reason)")
        // Renaming one member's field keeps them apart, and the case is READY.
        let renamed = try lake.json(try lake.run(["case", "create", "--object", a, "--object", b, "--field-map", "\(b):p=p_raw", "--json"]))
        #expect(renamed["status"] as? String == "READY" && field(renamed, "p_raw") != nil)
    }

    @Test func badCaseInputIsRefusedAndChangesNothing() throws {
        let lake = LakeBinary()
        try lake.initStore()
        let a = try upload(lake, "run_0.vtu", ["--param", "mach=0.8"])["id"] as! String
        let b = try upload(lake, "run_1.vtu", ["--param", "mach=0.9"])["id"] as! String
        let conflict = try lake.run(["case", "create", "--object", a, "--object", b])
        #expect(conflict.status != 0)
        #expect(conflict.stderr.contains("'mach'") && conflict.stderr.contains("0.8") && conflict.stderr.contains("0.9")
                && conflict.stderr.contains(a) && conflict.stderr.contains(b), "\(conflict.stderr)")
        let missingParam = try lake.run(["case", "create", "--object", a, "--param-map", "\(a):nope=x"])
        #expect(missingParam.status != 0 && missingParam.stderr.contains("'nope'"), "\(missingParam.stderr)")
        let missingField = try lake.run(["case", "create", "--object", a, "--field-map", "\(a):nofield="])
        #expect(missingField.status != 0 && missingField.stderr.contains("'nofield'"), "\(missingField.stderr)")
        let unknown = try lake.run(["case", "create", "--object", "obj-0000000000000000000000000z"])
        #expect(unknown.status != 0 && unknown.stderr.contains("no object"), "\(unknown.stderr)")
        #expect(try lake.run(["case", "ls"]).stdout.contains("No cases."))
        // Dropping the conflicting key makes the same members fine.
        #expect(try lake.run(["case", "create", "--object", a, "--object", b, "--param-map", "\(b):mach="]).succeeded)
    }

    @Test func aCaseSettlesWhenItsMembersAreProcessed() throws {
        let lake = LakeBinary()
        try lake.initStore()
        let a = try upload(lake, "run_0.vtu", ["--no-wait"])["id"] as! String
        let created = try lake.json(try lake.run(["case", "create", "--object", a, "--json"]))
        #expect(created["status"] as? String == "UNSETTLED")
        #expect(try lake.run(["process"]).succeeded)
        let settled = try lake.json(try lake.run(["case", "show", created["id"] as! String, "--json"]))
        #expect(settled["status"] as? String == "READY")
        #expect(field(settled, "p") != nil)
    }

    /// `--param mach=.310` (what `bc` prints), `+5` and `5.` are numbers: stored as numbers,
    /// typed `scalar` in a dataset's schema, found by numeric filters. A quoted value stays a
    /// string, and an operator after `=` is refused instead of matching nothing.
    @Test func numbersAsPeopleWriteThemAreNumbers() throws {
        let lake = LakeBinary()
        try lake.initStore()
        let a = try upload(lake, "run_0.vtu", ["--param", "mach=.310", "--param", "n=+5", "--param", "r=5.", "--param", "tag=\".5\""])
        let params = try #require(a["params"] as? [String: [String: Any]])
        #expect(params["mach"]?["value"] as? Double == 0.31 && params["n"]?["value"] as? Double == 5 && params["r"]?["value"] as? Double == 5)
        #expect(params["tag"]?["value"] as? String == ".5")
        let id = a["id"] as! String
        func found(_ filter: String) throws -> [String] {
            let listed = try lake.run(["object", "ls", "--param", filter, "--json"])
            #expect(listed.succeeded, "\(filter): \(listed.stderr)")
            return ((try lake.json(listed)["objects"] as? [[String: Any]]) ?? []).compactMap { $0["id"] as? String }
        }
        #expect(try found("mach=.310") == [id])
        #expect(try found("mach=0.31") == [id])
        #expect(try found("mach>.3") == [id])
        #expect(try found("mach>0.4").isEmpty)
        #expect(try found("tag=\".5\"") == [id])
        #expect(try found("tag=0.5").isEmpty)
        let mistake = try lake.run(["object", "ls", "--param", "mach=>0.3"])
        #expect(mistake.status == 64 && mistake.stderr.contains("did you mean 'mach>=0.3'?"), "\(mistake.stderr)")

        let c = try lake.json(try lake.run(["case", "create", "--object", id, "--name", "one", "--json"]))["id"] as! String
        let dataset = try lake.json(try lake.run(["dataset", "create", "--name", "bc", "--case", c, "--json"]))
        let schema = try #require(dataset["params_schema"] as? [String: [String: Any]])
        #expect(schema["mach"]?["type"] as? String == "scalar" && schema["tag"]?["type"] as? String == "str", "\(schema)")
    }

    /// Fields found by name, annotated or not; misspelt keys and quantity types get a suggestion.
    @Test func fieldsAreFoundByName() throws {
        let lake = LakeBinary()
        try lake.initStore()
        let a = try upload(lake, "run_0.vtu")["id"] as! String
        let stl = try lake.run(["upload", lake.directory.write("t.stl", Fixtures.asciiSTL(triangles: 2)), "--geometry-units", "m"])
        #expect(stl.succeeded)
        func found(_ filter: String) throws -> [String] {
            let listed = try lake.run(["object", "ls", "--provision", filter, "--json"])
            #expect(listed.succeeded, "\(filter): \(listed.stderr)")
            return ((try lake.json(listed)["objects"] as? [[String: Any]]) ?? []).compactMap { $0["id"] as? String }
        }
        #expect(try found("label=rank") == [a])
        #expect(try found("label=ran").isEmpty)
        #expect(try found("label_contains=an") == [a])
        #expect(try found("label_contains=An").isEmpty)
        #expect(try found("label=U,mag_max>=0") == [a])
        let misspelt = try lake.run(["object", "ls", "--provision", "quantity_type=PRESURE"])
        #expect(misspelt.status == 64 && misspelt.stderr.contains("did you mean PRESSURE?"), "\(misspelt.stderr)")
        let key = try lake.run(["object", "ls", "--provision", "lable=p"])
        #expect(key.status == 64 && key.stderr.contains("did you mean label?"), "\(key.stderr)")
    }

    /// Training code names datasets `wing@latest` or `wing@3`, not by id.
    @Test func datasetsByNameAndVersion() throws {
        let mounted = try MountedLake(mount: false)
        let lake = mounted.lake
        let a = try upload(lake, "run_0.vtu")["id"] as! String
        let c = try lake.json(try lake.run(["case", "create", "--object", a, "--json"]))["id"] as! String
        func dataset(_ name: String, freeze: Bool) throws -> String {
            let id = try lake.json(try lake.run(["dataset", "create", "--name", name, "--case", c, "--json"]))["id"] as! String
            if freeze { #expect(try lake.run(["dataset", "freeze", id]).succeeded) }
            return id
        }
        let v1 = try dataset("wing", freeze: true), v2 = try dataset("wing", freeze: true)
        _ = try dataset("wing", freeze: false)
        let solo = try dataset("solo", freeze: false)
        func shown(_ ref: String) throws -> String? {
            try lake.json(try lake.run(["dataset", "show", ref, "--json"]))["id"] as? String
        }
        #expect(try shown("wing@latest") == v2)
        #expect(try shown("wing@1") == v1 && (try shown("wing@2")) == v2)
        #expect(try shown("solo") == solo && (try shown(v1)) == v1)
        let ambiguous = try lake.run(["dataset", "show", "wing"])
        #expect(ambiguous.status == 1 && ambiguous.stderr.contains("'wing' names 3 datasets"), "\(ambiguous.stderr)")
        let tooFar = try lake.run(["dataset", "show", "wing@3"])
        #expect(tooFar.status == 1 && tooFar.stderr.contains("has 2 frozen versions"), "\(tooFar.stderr)")
        #expect(try lake.run(["dataset", "show", "wing@0"]).status == 64)
        #expect(try lake.run(["dataset", "show", "solo@latest"]).stderr.contains("no dataset named 'solo' is frozen"))

        // A mount of wing@latest serves the version that was latest when it was mounted.
        #expect(try lake.run(["mount", mounted.mountpoint, "--dataset", "wing@latest"]).succeeded)
        let served = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: mounted.path("dataset.json")))) as? [String: Any]
        #expect(served?["id"] as? String == v2)
    }

    /// Changing a dataset prints one line (its fields were a hundred); `show` and --json print all.
    @Test func datasetChangesPrintOneLine() throws {
        let lake = LakeBinary()
        try lake.initStore()
        let a = try upload(lake, "run_0.vtu", ["--param", "mach=0.8"])["id"] as! String
        let b = try upload(lake, "run_1.vtu", ["--param", "mach=0.7"])["id"] as! String
        let c1 = try lake.json(try lake.run(["case", "create", "--object", a, "--json"]))["id"] as! String
        let c2 = try lake.json(try lake.run(["case", "create", "--object", b, "--json"]))["id"] as! String
        let created = try lake.run(["dataset", "create", "--name", "wing", "--case", c1])
        let id = try #require(created.stdout.split(separator: " ").dropFirst().first.map(String.init), "\(created.stdout)")
        #expect(created.stdout == "Created \(id) (wing): READY, 1 case\n", "\(created.stdout)")
        let added = try lake.run(["dataset", "add", id, c2])
        #expect(added.stdout == "Added 1 case to \(id) (wing): READY, 2 cases\n", "\(added.stdout)")
        let frozen = try lake.run(["dataset", "freeze", id])
        #expect(frozen.succeeded && frozen.stdout.split(separator: "\n").count == 1 && frozen.stdout.hasPrefix("Froze \(id) (wing): READY, 2 cases, frozen at "),
                "\(frozen.stdout)")
        #expect(try lake.run(["dataset", "show", id]).stdout.split(separator: "\n").count > 5)
    }

    @Test func datasetsFreezeOnlyWhenReadyAndNeverChangeAfterwards() throws {
        let lake = LakeBinary()
        try lake.initStore()
        let a = try upload(lake, "run_0.vtu", ["--param", "mach=0.8", "--param", "solver=rans"])["id"] as! String
        let b = try upload(lake, "run_1.vtu", ["--param", "mach=0.7"])["id"] as! String
        let c1 = try lake.json(try lake.run(["case", "create", "--object", a, "--name", "one", "--json"]))["id"] as! String
        let c2 = try lake.json(try lake.run(["case", "create", "--object", b, "--name", "two", "--json"]))["id"] as! String
        let created = try lake.run(["dataset", "create", "--name", "wing", "--case", c1, "--json"])
        #expect(created.succeeded, "\(created.stderr)")
        let id = try lake.json(created)["id"] as! String
        let added = try lake.json(try lake.run(["dataset", "add", id, c2, "--json"]))
        #expect(added["status"] as? String == "READY" && (added["case_ids"] as? [String]) == [c1, c2])
        // Only params every case has, with one type, are in the schema.
        #expect((added["params_schema"] as? [String: Any]).map { Set($0.keys) } == ["mach"])
        let outside = try lake.run(["dataset", "freeze", id, "--augment", "solver:description=x"])
        #expect(outside.status != 0 && outside.stderr.contains("'solver'"), "\(outside.stderr)")
        let frozen = try lake.run(["dataset", "freeze", id, "--augment", "mach:default_reference=[0.75],description=free-stream Mach", "--json"])
        #expect(frozen.succeeded, "\(frozen.stderr)")
        let schema = (try lake.json(frozen)["params_schema"] as? [String: [String: Any]])?["mach"]
        #expect(schema?["default_reference"] as? [Double] == [0.75] && schema?["description"] as? String == "free-stream Mach")
        for change in [["dataset", "freeze", id], ["dataset", "add", id, c2], ["dataset", "remove", id, c1],
                       ["dataset", "update", id, "--name", "x"], ["case", "rm", c1], ["dataset", "rm", id]] {
            let result = try lake.run(change)
            #expect(result.status != 0 && (result.stderr.contains("frozen")), "\(change): \(result.stderr)")
        }
        #expect(try lake.json(try lake.run(["dataset", "show", id, "--json"]))["name"] as? String == "wing")
        #expect(try lake.run(["dataset", "rm", id, "--force"]).succeeded)
        #expect(try lake.run(["case", "rm", c1]).succeeded)
    }

    @Test func anUnsettledDatasetCannotBeFrozen() throws {
        let lake = LakeBinary()
        try lake.initStore()
        let a = try upload(lake, "run_0.vtu", ["--no-wait"])["id"] as! String
        let c = try lake.json(try lake.run(["case", "create", "--object", a, "--json"]))["id"] as! String
        let id = try lake.json(try lake.run(["dataset", "create", "--name", "d", "--case", c, "--json"]))["id"] as! String
        let refused = try lake.run(["dataset", "freeze", id])
        #expect(refused.status != 0 && refused.stderr.contains("UNSETTLED"), "\(refused.stderr)")
        #expect(try lake.json(try lake.run(["dataset", "show", id, "--json"]))["frozen_at"] is NSNull)
    }

    @Test func aFailedMemberMakesTheCaseAndItsDatasetInvalid() throws {
        let lake = LakeBinary()
        try lake.initStore()
        let bad = lake.directory.write("broken.vtu", "<VTKFile type=\"UnstructuredGrid\"><oops")
        let failed = try lake.run(["upload", bad, "--json"])
        let id = try #require((try lake.json(failed)["succeeded"] as? [[String: Any]])?.first?["id"] as? String, "\(failed.stdout)")
        let created = try lake.json(try lake.run(["case", "create", "--object", id, "--json"]))
        #expect(created["status"] as? String == "INVALID")
        #expect((created["failure_reason"] as? String)?.contains(id) == true, "\(created)")
        let dataset = try lake.json(try lake.run(["dataset", "create", "--name", "d", "--case", created["id"] as! String, "--json"]))
        #expect(dataset["status"] as? String == "INVALID")
        #expect((dataset["failure_reason"] as? String)?.contains(created["id"] as! String) == true, "\(dataset)")
        let freeze = try lake.run(["dataset", "freeze", dataset["id"] as! String])
        #expect(freeze.status != 0 && freeze.stderr.contains("INVALID"), "\(freeze.stderr)")
    }

    @Test func unknownIdsAreNamedAndChangeNothing() throws {
        let lake = LakeBinary()
        try lake.initStore()
        let missingCase = "case-0000000000000000000000000z"
        let create = try lake.run(["dataset", "create", "--name", "d", "--case", missingCase])
        #expect(create.status == 1 && create.stderr.contains(missingCase), "\(create.stderr)")
        #expect(try lake.run(["dataset", "ls"]).stdout.contains("No datasets."))
        for command in [["case", "show", missingCase], ["case", "rm", missingCase], ["dataset", "show", "ds-0000000000000000000000000z"],
                        ["dataset", "freeze", "ds-0000000000000000000000000z"]] {
            let result = try lake.run(command)
            #expect(result.status == 1 && result.stderr.contains("0000000000000000000000000z"), "\(command): \(result.stderr)")
        }
        let malformed = try lake.run(["case", "show", "obj-0000000000000000000000000z"])
        #expect(malformed.status == 64, "\(malformed.stderr)")
    }

    @Test func filtersSelectObjectsCasesAndDatasets() throws {
        let lake = LakeBinary()
        try lake.initStore()
        let a = try upload(lake, "run_0.vtu", ["--param", "mach=0.8", "--tag", "project=wing", "--name", "Wing Run"])
        let b = try upload(lake, "run_1.vtu", ["--param", "mach=0.5", "--tag", "project=tail"])
        let (idA, idB) = (a["id"] as! String, b["id"] as! String)
        func ids(_ arguments: [String], key: String = "objects") throws -> Set<String> {
            let result = try lake.run(arguments + ["--json"])
            #expect(result.succeeded, "\(result.stderr)")
            return Set((try lake.json(result)[key] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String })
        }
        #expect(try ids(["object", "ls", "--param", "mach>=0.8"]) == [idA])
        #expect(try ids(["object", "ls", "--param", "mach<0.8"]) == [idB])
        #expect(try ids(["object", "ls", "--param", "mach!=0.5"]) == [idA])
        #expect(try ids(["object", "ls", "--tags", "{\"project\":\"tail\"}"]) == [idB])
        #expect(try ids(["object", "ls", "--name-contains", "wING"]) == [idA])
        #expect(try ids(["object", "ls", "--status", "READY", "--format", "vtu"]) == [idA, idB])
        #expect(try ids(["object", "ls", "--status", "FAILED"]).isEmpty)
        let pMax = magnitude(field(a, "p"))["max"] as! Double
        #expect(try ids(["object", "ls", "--provision", "element_assoc=POINT,mag_max>=\(pMax)"]).contains(idA))
        #expect(try ids(["object", "ls", "--provision", "element_assoc=CELL,mag_max>=\(pMax)"]).isEmpty)
        #expect(try ids(["object", "ls", "--param", "mach>=0.8", "--tags", "{\"project\":\"tail\"}"]).isEmpty)
        let case1 = try lake.json(try lake.run(["case", "create", "--object", idA, "--json"]))["id"] as! String
        let case2 = try lake.json(try lake.run(["case", "create", "--object", idB, "--json"]))["id"] as! String
        #expect(try ids(["case", "ls", "--param", "mach>=0.8"], key: "cases") == [case1])
        let dataset = try lake.json(try lake.run(["dataset", "create", "--name", "d", "--case", case2, "--json"]))["id"] as! String
        #expect(try ids(["dataset", "ls", "--tags", "{\"project\":\"tail\"}"], key: "datasets") == [dataset])
        #expect(try ids(["dataset", "ls", "--tags", "{\"project\":\"wing\"}"], key: "datasets").isEmpty)
        // Paging: one per page, the cursor leads to the next.
        let first = try lake.json(try lake.run(["object", "ls", "--limit", "1", "--json"]))
        let cursor = try #require(first["next_cursor"] as? String)
        let second = try lake.json(try lake.run(["object", "ls", "--limit", "1", "--after", cursor, "--json"]))
        #expect(second["next_cursor"] is NSNull)
        #expect(Set([first, second].compactMap { ($0["objects"] as? [[String: Any]])?.first?["id"] as? String }) == [idA, idB])
        let bad = try lake.run(["object", "ls", "--param", "mach>>x"])
        #expect(bad.status == 64, "\(bad.stderr)")
    }
}
