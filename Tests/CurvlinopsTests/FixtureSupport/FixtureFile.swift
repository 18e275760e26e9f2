import Foundation
import XCTest
@testable import Curvlinops

/// One JSON file of golden values from the `Fixtures` folder of the test bundle.
///
/// The format is described in `Fixtures/README.md`: every file has a `family`
/// key that picks its checker, and row-major tensors `{"shape", "data"}`.
struct FixtureFile {
    /// The file's name, for messages.
    let name: String

    /// The value of the file's `family` key.
    let family: String

    /// The parsed top-level object.
    let root: [String: Any]

    /// Every `*.json` file in the bundled `Fixtures` folder, sorted by name.
    ///
    /// Any file of the fixture format dropped into that folder is picked up
    /// here without code changes.
    static func all() throws -> [FixtureFile] {
        guard let folder = Bundle.module.url(forResource: "Fixtures", withExtension: nil) else {
            throw FixtureError("the test bundle has no Fixtures folder")
        }
        let names = try FileManager.default.contentsOfDirectory(atPath: folder.path)
            .filter { $0.hasSuffix(".json") }
            .sorted()
        return try names.map { name in
            let data = try Data(contentsOf: folder.appendingPathComponent(name))
            guard let root = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
                throw FixtureError("\(name): the top level is not a JSON object")
            }
            guard let family = root["family"] as? String else {
                throw FixtureError("\(name): the `family` key is missing or not a string")
            }
            return FixtureFile(name: name, family: family, root: root)
        }
    }

    /// The files of one family.
    static func files(ofFamily family: String) throws -> [FixtureFile] {
        try all().filter { $0.family == family }
    }
}

/// A malformed fixture: a missing key or a value of the wrong type.
struct FixtureError: Error, CustomStringConvertible {
    let description: String

    init(_ description: String) {
        self.description = description
    }
}
