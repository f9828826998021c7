import Foundation

// lake-bench: benchmarks that compare Lake with a baseline measured in the same run.
//
//   swift run -c release lake-bench upload [--size-mib 1024] [--rounds 5] [--work DIR]
//   swift run -c release lake-bench vtk [--points 10000000] [--rounds 3] [--work DIR]   (needs pip vtk numpy)
//   swift run -c release lake-bench filters [--objects 1000000] [--cases 10000] [--queries 200] [--work DIR] [--catalog postgres://…]
//   swift run -c release lake-bench kernels [--tuples 4000000] [--rounds 5]
//   swift run -c release lake-bench views [--objects 100000] [--shape file|vtk] [--work DIR]
//
// Rounds alternate baseline and Lake so both see the same disk weather; medians are reported.

let arguments = Array(CommandLine.arguments.dropFirst())
guard let command = arguments.first else {
    print("usage: lake-bench upload [--size-mib N] [--rounds N] [--work DIR] [--lake PATH]")
    print("       lake-bench vtk [--points N] [--rounds N] [--work DIR] [--lake PATH] [--python PATH]")
    print("       lake-bench filters [--objects N] [--cases N] [--queries N] [--work DIR] [--lake PATH] [--catalog postgres://…]")
    print("       lake-bench kernels [--tuples N] [--rounds N]")
    print("       lake-bench views [--objects N] [--shape file|vtk] [--work DIR] [--lake PATH]")
    exit(2)
}

func option(_ name: String, default value: String) -> String {
    guard let index = arguments.firstIndex(of: name), index + 1 < arguments.count else { return value }
    return arguments[index + 1]
}

switch command {
case "upload":
    let lakePath = option("--lake", default: Bench.siblingLake())
    try UploadBenchmark(sizeMiB: Int(option("--size-mib", default: "1024"))!,
                        rounds: Int(option("--rounds", default: "5"))!,
                        work: option("--work", default: FileManager.default.currentDirectoryPath + "/bench-work"),
                        lake: lakePath).run()
case "vtk":
    try ProcessingBenchmark(points: Int(option("--points", default: "10000000"))!,
                            rounds: Int(option("--rounds", default: "3"))!,
                            work: option("--work", default: FileManager.default.currentDirectoryPath + "/bench-work"),
                            lake: option("--lake", default: Bench.siblingLake()),
                            python: option("--python", default: "python3")).run()
case "filters":
    try FilterBenchmark(objects: Int(option("--objects", default: "1000000"))!,
                        cases: Int(option("--cases", default: "10000"))!,
                        queries: Int(option("--queries", default: "200"))!,
                        work: option("--work", default: FileManager.default.currentDirectoryPath + "/bench-work"),
                        lake: option("--lake", default: Bench.siblingLake()),
                        catalogURL: arguments.contains("--catalog") ? option("--catalog", default: "") : nil).run()
case "kernels":
    KernelBenchmark(tuples: Int(option("--tuples", default: "4000000"))!, rounds: Int(option("--rounds", default: "5"))!).run()
case "views":
    guard let shape = ViewBenchmark.Shape(rawValue: option("--shape", default: "file")) else { print("--shape: file or vtk"); exit(2) }
    try ViewBenchmark(objects: Int(option("--objects", default: "100000"))!, shape: shape,
                      work: option("--work", default: FileManager.default.currentDirectoryPath + "/bench-work"),
                      lake: option("--lake", default: Bench.siblingLake())).run()
default:
    print("unknown benchmark '\(command)'")
    exit(2)
}
