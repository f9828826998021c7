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
        // Numbers as people write them (bc prints .310), strings when quoted or not numeric.
        ("mach=.310", "mach", .number(0.31), nil),
        ("n=+5", "n", .number(5), nil),
        ("r=5.", "r", .number(5), nil),
        ("big=1e3", "big", .number(1000), nil),
        ("neg=-0.5@m", "neg", .number(-0.5), "m"),
        ("p=.5@bar", "p", .number(0.5), "bar"),
        ("q=\".310\"", "q", .string(".310"), nil),
        ("x=inf", "x", .string("inf"), nil),
        ("y=nan", "y", .string("nan"), nil),
        ("h=0x10", "h", .string("0x10"), nil),
        ("v=1.2.3", "v", .string("1.2.3"), nil),
        ("d=.", "d", .string("."), nil),
        ("e=1e", "e", .string("1e"), nil),
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

@Suite struct PlainNumberTests {
    @Test(arguments: [(".310", 0.31), ("+5", 5), ("5.", 5), ("1e3", 1000), ("-0.5", -0.5), ("1E-2", 0.01), ("0", 0), ("-.5e+1", -5)])
    func numbers(text: String, value: Double) {
        #expect(PlainNumber.parse(text) == value)
    }

    @Test(arguments: ["", ".", "+", "-", "e5", "1e", "1e+", "inf", "-inf", "nan", "NaN", "0x1p3", "1_000", "1,5", " 1", "1 ", "++1", "1e999", "٣"])
    func notNumbers(text: String) {
        #expect(PlainNumber.parse(text) == nil)
    }
}

@Suite struct ParamFilterTests {
    @Test func numbersAsPeopleWriteThemCompareAsNumbers() throws {
        #expect(try ObjectFilter.param(parsing: "mach=.310").matcher == .number({ var r = RangeFilter(); r.add("=", 0.31); return r }()))
        #expect(try ObjectFilter.param(parsing: "n>+5").matcher == .number({ var r = RangeFilter(); r.add(">", 5); return r }()))
        #expect(try ObjectFilter.param(parsing: "solver=rans").matcher == .string("rans"))
        #expect(try ObjectFilter.param(parsing: "mach=\".310\"").matcher == .string(".310"))
        #expect(try ObjectFilter.param(parsing: "ok=true").matcher == .bool(true))
    }

    @Test(arguments: [("mach=>0.8", "did you mean 'mach>=0.8'?"), ("mach=<0.8", "did you mean 'mach<=0.8'?"),
                      ("mach==0.8", "did you mean 'mach=0.8'?"), ("mach=!0.8", "did you mean 'mach!=0.8'?"),
                      ("mach>=>1", "'>=' is followed by '>'"), ("s>\"a\"", "strings take '='"), ("s>abc", "is not a number")])
    func operatorMistakesAreRefused(text: String, message: String) {
        #expect {
            try ObjectFilter.param(parsing: text)
        } throws: { error in
            (error as? InputError)?.message.contains(message) == true
        }
    }
}

@Suite struct ProvisionFilterTests {
    @Test func fieldsByName() throws {
        let exact = try ObjectFilter.provision(parsing: "label=p,element_assoc=POINT")
        #expect(exact.label == "p" && exact.elementAssoc == .point && exact.labelContains == nil)
        #expect(try ObjectFilter.provision(parsing: "label_contains=vel").labelContains == "vel")
        #expect(try ObjectFilter.provision(parsing: "label=\"a b\"").label == "a b")
    }

    @Test func misspeltNamesGetSuggestions() {
        #expect { try ObjectFilter.provision(parsing: "lable=p") } throws: { error in
            (error as? InputError)?.message.contains("did you mean label?") == true
        }
        #expect { try QuantityType.named("PRESURE") } throws: { error in
            let message = (error as? InputError)?.message ?? ""
            return message.contains("did you mean PRESSURE") && !message.contains("valid names")
        }
        // Nothing close: the list of valid names, as before.
        #expect { try QuantityType.named("zzzzzzzzzzzz") } throws: { error in
            (error as? InputError)?.message.contains("valid names: DIMENSIONLESS") == true
        }
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

    /// A near miss gets the closest names; only a name close to none gets the whole list.
    @Test func unknownQuantitySuggestsOrListsTheValidNames() {
        do {
            _ = try FieldAnnotation.parse("p:POINT=PRESURE")
            Issue.record("accepted an unknown quantity type")
        } catch {
            #expect(error.message.contains("unknown quantity type 'PRESURE'; did you mean PRESSURE?"), "\(error.message)")
            #expect(!error.message.contains("WALL_SHEAR_STRESS"))
        }
        do {
            _ = try FieldAnnotation.parse("p:POINT=NOTHINGLIKEIT")
            Issue.record("accepted an unknown quantity type")
        } catch {
            #expect(error.message.contains("valid names:") && error.message.contains("WALL_SHEAR_STRESS"), "\(error.message)")
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
