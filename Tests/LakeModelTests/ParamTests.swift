import Testing
@testable import LakeModel

@Suite struct ParamTests {
    @Test(arguments: [
        ("mach=0.8", "mach", ParamValue.number(0.8), nil as String?),
        ("aoa=4@deg", "aoa", .number(4), "deg"),
        ("velocity=[10,0,0]@m/s", "velocity", .vector([10, 0, 0]), "m/s"),
        ("solver=rhoSimpleFoam", "solver", .string("rhoSimpleFoam"), nil),
        ("label=\"a@b\"", "label", .string("a@b"), nil),
        ("email=someone@example.com", "email", .string("someone@example.com"), nil),
        ("steady=true", "steady", .bool(true), nil),
        ("name=two words", "name", .string("two words"), nil),
    ])
    func parsesAssignments(text: String, key: String, value: ParamValue, units: String?) throws {
        let (parsedKey, param) = try Param.parse(assignment: text)
        #expect(parsedKey == key)
        #expect(param.value == value)
        #expect(param.units == units)
    }

    @Test(arguments: ["mach", "=3", "mach=", "v=[1,2", "v=[1,\"a\"]", "v=[]", "o={\"a\":1}", "mach=0.8@", "n=null"])
    func rejectsMalformedAssignments(text: String) {
        #expect(throws: InputError.self) { try Param.parse(assignment: text) }
    }

    @Test func encodesAsLuminaryParam() {
        let param = Param(value: .vector([1, 2]), units: "m")
        #expect(LakeJSON.compactString(param) == #"{"units":"m","value":[1,2]}"#)
        #expect(param.value.typeName == "vec-2")
        #expect(Param(value: .number(1800)).value.typeName == "scalar")
    }
}

@Suite struct TagsTests {
    @Test func tagValuesAreJSONOrStrings() throws {
        #expect(try Tags.parse(assignment: "priority=3").value == .number(3))
        #expect(try Tags.parse(assignment: "project=wing").value == .string("wing"))
        #expect(try Tags.parse(assignment: "cfg={\"a\":[1]}").value == .object(["a": .array([.number(1)])]))
        #expect(throws: InputError.self) { try Tags.parse(assignment: "noequals") }
        #expect(throws: InputError.self) { try Tags.parse(assignment: "x={broken") }
    }

    @Test func wholeTagObjects() throws {
        #expect(try Tags.parse(object: "{}") == [:])
        #expect(try Tags.parse(object: #"{"a":"b"}"#) == ["a": .string("b")])
        #expect(throws: InputError.self) { try Tags.parse(object: "[1]") }
        #expect(throws: InputError.self) { try Tags.parse(object: "{nope") }
    }
}

@Suite struct AnnotationTests {
    @Test func parsesAnnotationsWithCanonicalUnitsByDefault() throws {
        let a = try FieldAnnotation.parse("p:POINT=PRESSURE")
        #expect(a == FieldAnnotation(label: "p", elementAssoc: .point, quantityType: "PRESSURE", units: "Pa"))
        let b = try FieldAnnotation.parse("U:mean:cell=velocity@mm/s")
        #expect(b == FieldAnnotation(label: "U:mean", elementAssoc: .cell, quantityType: "VELOCITY", units: "mm/s"))
        let c = try FieldAnnotation.parse("M:CELL=MACH")
        #expect(c.units == nil)
    }

    @Test func unknownQuantityListsTheValidNames() {
        do {
            _ = try FieldAnnotation.parse("p:POINT=PRESURE")
            Issue.record("accepted an unknown quantity type")
        } catch {
            #expect(error.message.contains("unknown quantity type 'PRESURE'"))
            #expect(error.message.contains("PRESSURE"))
            #expect(error.message.contains("WALL_SHEAR_STRESS"))
        }
    }

    @Test(arguments: ["p=PRESSURE", "p:EDGE=PRESSURE", ":POINT=PRESSURE", "p:POINT", "p:POINT=PRESSURE@"])
    func rejectsMalformedAnnotations(text: String) {
        #expect(throws: InputError.self) { try FieldAnnotation.parse(text) }
    }

    @Test func quantityTableIsComplete() throws {
        #expect(QuantityType.all.count == 176)
        #expect(try QuantityType.named("velocity").components == 3)
        #expect(try QuantityType.named("DENSITY").canonicalUnit == "kg/m³")
    }
}
