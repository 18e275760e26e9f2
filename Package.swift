// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "Curvlinops",
    products: [
        .library(name: "Curvlinops", targets: ["Curvlinops"]),
        .executable(name: "curvlinops-bench", targets: ["curvlinops-bench"]),
    ],
    targets: [
        // OpenBLAS supplies CBLAS and the LAPACK routines; LAPACKE is the C
        // interface to them. Debian's `openblas` pkg-config file points at the
        // directory that holds `cblas.h`.
        .systemLibrary(
            name: "CLapack",
            pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev", "liblapacke-dev"])]
        ),
        .target(
            name: "Curvlinops",
            dependencies: ["CLapack"]
        ),
        // The benchmark's argument parsing, main job and workloads, in a
        // library target so that the test suite can run them on small inputs.
        .target(
            name: "CurvlinopsBenchCore",
            dependencies: ["Curvlinops", "CLapack"],
            path: "Benchmarks/CurvlinopsBenchCore"
        ),
        // digits.csv is scikit-learn's copy of the UCI "Optical Recognition of
        // Handwritten Digits" data (CC BY 4.0); see docs/data.md.
        .executableTarget(
            name: "curvlinops-bench",
            dependencies: ["Curvlinops", "CurvlinopsBenchCore"],
            path: "Benchmarks/curvlinops-bench",
            resources: [.copy("digits.csv")]
        ),
        .testTarget(
            name: "CurvlinopsTests",
            dependencies: ["Curvlinops", "CLapack", "CurvlinopsBenchCore"],
            resources: [.copy("Fixtures")]
        ),
    ],
    swiftLanguageModes: [.v6]
)
