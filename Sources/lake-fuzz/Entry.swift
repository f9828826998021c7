import CFuzzDriver

// The executable's entry point under the name SwiftPM gives it (`<module>_main`), so the same
// code links as an ordinary program and, built with -sanitize=fuzzer and -parse-as-library, as
// a libFuzzer one. Two files and no main.swift keep the compiler from making a main of its own.
@_cdecl("lake_fuzz_main")
func fuzzMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    var count = argc
    var vector = argv
    let result = lake_fuzz_run(&count, &vector) { data, size in Target.run(data, size) }
    if result == -1 {
        print("lake-fuzz was built without libFuzzer; build it with: swift build -c release --product lake-fuzz "
            + "-Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library -Xswiftc -use-ld=lld")
        return 2
    }
    return result
}
