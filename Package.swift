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
        .executableTarget(
            name: "curvlinops-bench",
            dependencies: ["Curvlinops", "CLapack"],
            path: "Benchmarks/curvlinops-bench"
        ),
        .testTarget(
            name: "CurvlinopsTests",
            dependencies: ["Curvlinops", "CLapack"],
            resources: [.copy("Fixtures")]
        ),
    ],
    swiftLanguageModes: [.v6]
)
