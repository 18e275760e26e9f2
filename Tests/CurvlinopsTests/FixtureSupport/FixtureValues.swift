import Foundation
@testable import Curvlinops

// Readers for the value types of the fixture format. Each throws a
// `FixtureError` naming the key when the value has the wrong type.

/// Reads a JSON number, or one of the strings "NaN", "Infinity", "-Infinity".
func fixtureDouble(_ value: Any?, _ key: String) throws -> Double {
    switch value {
    case let number as NSNumber:
        return number.doubleValue
    case let text as String:
        switch text {
        case "NaN": return .nan
        case "Infinity": return .infinity
        case "-Infinity": return -.infinity
        default: break
        }
    default:
        break
    }
    throw FixtureError("`\(key)` is not a number: \(String(describing: value))")
}

/// Reads a JSON integer.
func fixtureInt(_ value: Any?, _ key: String) throws -> Int {
    guard let number = value as? NSNumber else {
        throw FixtureError("`\(key)` is not an integer: \(String(describing: value))")
    }
    return number.intValue
}

/// Reads a JSON boolean.
func fixtureBool(_ value: Any?, _ key: String) throws -> Bool {
    guard let flag = value as? Bool else {
        throw FixtureError("`\(key)` is not a boolean: \(String(describing: value))")
    }
    return flag
}

/// Reads a JSON object.
func fixtureObject(_ value: Any?, _ key: String) throws -> [String: Any] {
    guard let object = value as? [String: Any] else {
        throw FixtureError("`\(key)` is not an object")
    }
    return object
}

/// Reads a JSON array.
func fixtureArray(_ value: Any?, _ key: String) throws -> [Any] {
    guard let array = value as? [Any] else {
        throw FixtureError("`\(key)` is not an array")
    }
    return array
}

/// A tensor of the fixture format: its shape and its row-major entries.
struct FixtureTensor {
    let shape: [Int]
    let data: [Double]

    init(_ value: Any?, _ key: String) throws {
        let object = try fixtureObject(value, key)
        shape = try fixtureArray(object["shape"], "\(key).shape").map { try fixtureInt($0, "\(key).shape") }
        data = try fixtureArray(object["data"], "\(key).data").map { try fixtureDouble($0, "\(key).data") }
        guard data.count == shape.reduce(1, *) else {
            throw FixtureError("`\(key)`: \(data.count) entries for shape \(shape)")
        }
    }

    /// The tensor as a matrix; a 1-D tensor becomes one column.
    func matrix<Scalar: LapackScalar>(_ type: Scalar.Type = Double.self) throws -> Matrix<Scalar> {
        let values = data.map { Scalar($0) }
        switch shape.count {
        case 1:
            return try Matrix(rows: shape[0], columns: 1, columnMajor: values)
        case 2:
            return try Matrix(rows: shape[0], columns: shape[1], rowMajor: values)
        default:
            throw FixtureError("a tensor of shape \(shape) is not a matrix")
        }
    }

    /// The tensor as a ``Tensor`` of the library.
    func tensor<Scalar: LapackScalar>(_ type: Scalar.Type = Double.self) throws -> Tensor<Scalar> {
        try Tensor(shape: shape, elements: data.map { Scalar($0) })
    }
}

/// The comparison rule of the fixtures: max |a − b| ≤ atol + rtol · max |b|.
///
/// Returns `nil` when the arrays agree, or a message with the largest error.
func fixtureMismatch(_ actual: [Double], _ expected: [Double], rtol: Double, atol: Double) -> String? {
    guard actual.count == expected.count else {
        return "got \(actual.count) entries, expected \(expected.count)"
    }
    var maxError = 0.0
    var worst = 0
    for i in actual.indices {
        let error = abs(actual[i] - expected[i])
        if !(error <= maxError) {
            maxError = error
            worst = i
        }
    }
    let scale = expected.reduce(0) { max($0, abs($1)) }
    let bound = atol + rtol * scale
    if maxError <= bound {
        return nil
    }
    return "max |error| = \(maxError) at flat index \(worst) (got \(actual[worst]), expected \(expected[worst])) exceeds \(bound) = \(atol) + \(rtol) · \(scale)"
}
