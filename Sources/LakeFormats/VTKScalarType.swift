/// The numeric types a VTK DataArray declares.
enum VTKScalarType: String, Sendable, CaseIterable {
    case int8 = "Int8", uint8 = "UInt8", int16 = "Int16", uint16 = "UInt16"
    case int32 = "Int32", uint32 = "UInt32", int64 = "Int64", uint64 = "UInt64"
    case float32 = "Float32", float64 = "Float64"

    init?(attribute: String) {
        switch attribute {
        case "Char": self = .int8            // legacy spellings some writers use
        case "UChar": self = .uint8
        case "vtkIdType": self = .int64
        default: self.init(rawValue: attribute)
        }
    }

    var size: Int {
        switch self {
        case .int8, .uint8: 1
        case .int16, .uint16: 2
        case .int32, .uint32, .float32: 4
        case .int64, .uint64, .float64: 8
        }
    }

    var isFloat: Bool { self == .float32 || self == .float64 }
}
