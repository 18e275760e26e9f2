/// The inverse of a damped KFAC or EKFAC approximation, applied block by
/// block through the Kronecker factors.
///
/// Per block, with the damping modes of ``KFACDamping``:
///
/// ```
/// scalar, perFactor, heuristic:  kron((G + δ_G I)⁻¹, (A + δ_A I)⁻¹),   bias: (G + δ_G I)⁻¹
/// exact (KFAC):                  kron(Q_G, Q_A)·diag(1/(λ_G[i]·λ_A[j] + λ))·kron(Q_G, Q_A)ᵀ,  bias: (G + λI)⁻¹
/// exact (EKFAC):                 kron(Q_G, Q_A)·diag(1/(Λ + λ))·kron(Q_G, Q_A)ᵀ
/// ```
///
/// Joint and separate weight and bias follow the base operator. The steps are
/// damp → factorise → apply:
///
/// - *Factorise (Cholesky modes).* Each damped factor is factorised by
///   `potrf` and inverted explicitly by `potri`, and an apply multiplies by
///   the two explicit inverses: two gemms per block. The alternative, four
///   triangular solves (`trsm`) with the Cholesky factors, does the same
///   number of flops at a lower rate. Measured with a throwaway harness on a
///   shared 2-core machine (OpenBLAS with 2 threads, float64, one block with
///   d_out = d_in = n, 64 columns, n from 16 to 1024): the explicit inverses
///   applied 1.0 to 3.0 times faster (about 2 times for n ≤ 256), one
///   `potri` cost 0.6 % (n ≥ 512) to 18 % (n = 16) of one apply, and the two
///   results differed by about 2e-15 relative. A failed Cholesky factorisation of a `Float`
///   factor is redone in `Double` when `retryInDoublePrecision` is on.
/// - *Factorise (exact damping).* The factors' eigendecompositions (`syevd`)
///   are computed once by the KFAC operator and shared by every inverse built
///   on it, so a new inverse with another damping value recomputes only the
///   damped eigenvalues. A damped eigenvalue that is zero up to rounding
///   (damping 0 on a singular factor) throws instead of returning ∞.
/// - *Apply.* Four gemms per block for the eigenbasis modes, two for the
///   Cholesky modes, on all columns at once.
///
/// With `cache` on, the factorised factors are computed on the first apply (or
/// by ``factorize()``), exactly once, while concurrent callers wait, and never
/// changed afterwards: applying the same input twice gives bit-identical
/// results. With `cache` off, every apply factorises again and nothing is kept,
/// except the eigendecompositions held by the KFAC operator.
///
/// ``report`` says, per layer, which damping was used, whether the heuristic
/// fell back, whether a factor was retried in double precision, and the
/// smallest damped eigenvalue where it is known.
public struct KFACInverseLinearOperator<Scalar: LapackScalar>: LinearOperator {
    /// The operator whose damped inverse this is.
    enum Base: Sendable {
        case kfac(KFACLinearOperator<Scalar>)
        case ekfac(EKFACLinearOperator<Scalar>)
    }

    let base: Base

    /// The damping added to KFAC before inverting.
    public let damping: KFACDamping<Scalar>

    /// Whether the factorised factors are kept after the first apply.
    public let cache: Bool

    /// Whether a failed `Float` Cholesky factorisation is redone in `Double`.
    public let retryInDoublePrecision: Bool

    let preparedStore: LazyValue<PreparedKFACInverse<Scalar>>
    let reportStore: LockedValue<KFACInverseReport<Scalar>?>

    /// The parameter shapes of the base operator.
    public var inputShapes: [[Int]] { layout.parameterShapes }

    /// The same as ``inputShapes``: the operator is square.
    public var outputShapes: [[Int]] { layout.parameterShapes }

    /// The KFAC or EKFAC operator that is inverted.
    public var baseOperator: any LinearOperator<Scalar> {
        switch base {
        case let .kfac(kfac): kfac
        case let .ekfac(ekfac): ekfac
        }
    }

    /// The report of the last factorisation, or `nil` before the first apply or ``factorize()``.
    ///
    /// Safe to read while other threads apply the operator.
    public var report: KFACInverseReport<Scalar>? { reportStore.value }

    var layout: KroneckerLayout {
        switch base {
        case let .kfac(kfac): kfac.layout
        case let .ekfac(ekfac): ekfac.layout
        }
    }

    /// Creates the inverse of a damped KFAC approximation.
    ///
    /// - Parameters:
    ///   - kfac: The KFAC operator to invert. Its factors are computed on the
    ///     first apply if they are not stored yet.
    ///   - damping: The damping mode and value. Default `.scalar(0)`, which, as
    ///     in curvlinops, works only for positive definite factors.
    ///   - cache: Whether to keep the factorised factors after the first apply.
    ///     Default true: the factorisation costs O(d³) per factor, an apply O(d²) per column.
    ///   - retryInDoublePrecision: Whether to redo a failed `Float` Cholesky
    ///     factorisation in `Double`. Default true. No effect for `Double` and
    ///     for exact damping.
    /// - Throws: ``CurvlinopsError/Kind/invalidArgument`` when a damping value
    ///   is negative or not finite.
    public init(
        _ kfac: KFACLinearOperator<Scalar>, damping: KFACDamping<Scalar> = .scalar(0),
        cache: Bool = true, retryInDoublePrecision: Bool = true
    ) throws {
        try damping.validate(owner: "KFACInverseLinearOperator")
        self.init(base: .kfac(kfac), damping: damping, cache: cache, retryInDoublePrecision: retryInDoublePrecision)
    }

    /// Creates the inverse of damped EKFAC, (EKFAC + λI)⁻¹.
    ///
    /// - Parameters:
    ///   - ekfac: The EKFAC operator to invert.
    ///   - damping: Must be `.exact(λ)`: EKFAC is damped on its corrected eigenvalues.
    ///   - cache: Whether to keep the damped eigenvalues after the first apply. Default true.
    /// - Throws: ``CurvlinopsError/Kind/invalidArgument`` for any damping mode
    ///   other than `.exact`, or a negative or non-finite value.
    public init(_ ekfac: EKFACLinearOperator<Scalar>, damping: KFACDamping<Scalar>, cache: Bool = true) throws {
        guard damping.isExact else {
            throw Self.ekfacWithoutExactDampingError(damping)
        }
        try damping.validate(owner: "KFACInverseLinearOperator")
        self.init(base: .ekfac(ekfac), damping: damping, cache: cache, retryInDoublePrecision: true)
    }

    /// Creates the inverse from curvlinops-style arguments, for an operator
    /// only known to be a ``LinearOperator``.
    ///
    /// The checks run in curvlinops' order: the operator must be KFAC or
    /// EKFAC; heuristic and exact damping exclude each other; EKFAC requires
    /// exact damping.
    ///
    /// - Parameters:
    ///   - base: A ``KFACLinearOperator`` or ``EKFACLinearOperator``.
    ///   - damping: λ, added to both factors or, with exact damping, to the Kronecker product.
    ///   - useHeuristicDamping: Whether to use Martens and Grosse's heuristic. Default false.
    ///   - minDamping: The heuristic's lower bound per factor. Default 1e-8, as in curvlinops.
    ///   - useExactDamping: Whether to damp the Kronecker product exactly. Default false.
    ///   - cache: Whether to keep the factorised factors. Default true.
    ///   - retryInDoublePrecision: Whether to redo a failed `Float` Cholesky
    ///     factorisation in `Double`. Default true.
    /// - Throws: ``CurvlinopsError/Kind/invalidArgument`` when `base` is
    ///   neither KFAC nor EKFAC, when both heuristic and exact damping are
    ///   requested, when EKFAC comes without exact damping, or for a negative
    ///   or non-finite value.
    public init(
        _ base: any LinearOperator<Scalar>, damping: Scalar, useHeuristicDamping: Bool = false,
        minDamping: Scalar = 1e-8, useExactDamping: Bool = false,
        cache: Bool = true, retryInDoublePrecision: Bool = true
    ) throws {
        let resolved = try Self.resolveBase(base)
        guard !(useHeuristicDamping && useExactDamping) else {
            throw Self.heuristicAndExactError
        }
        let mode: KFACDamping<Scalar> = useExactDamping
            ? .exact(damping)
            : useHeuristicDamping ? .heuristic(damping, minimum: minDamping) : .scalar(damping)
        try self.init(resolved, mode: mode, cache: cache, retryInDoublePrecision: retryInDoublePrecision)
    }

    /// Creates the inverse with separate dampings of the input and gradient
    /// factors from curvlinops-style arguments.
    ///
    /// - Parameters:
    ///   - base: A ``KFACLinearOperator`` (EKFAC requires exact damping, which takes one value).
    ///   - damping: δ_A for the input factors and δ_G for the gradient factors.
    ///   - useHeuristicDamping: Must be false: the heuristic takes one value. Default false.
    ///   - useExactDamping: Must be false: exact damping takes one value. Default false.
    ///   - cache: Whether to keep the factorised factors. Default true.
    ///   - retryInDoublePrecision: Whether to redo a failed `Float` Cholesky
    ///     factorisation in `Double`. Default true.
    /// - Throws: ``CurvlinopsError/Kind/invalidArgument`` when `base` is
    ///   neither KFAC nor EKFAC, when both heuristic and exact damping are
    ///   requested, when either is requested with a pair of values, when EKFAC
    ///   comes without exact damping, or for a negative or non-finite value.
    public init(
        _ base: any LinearOperator<Scalar>, damping: (input: Scalar, gradient: Scalar),
        useHeuristicDamping: Bool = false, useExactDamping: Bool = false,
        cache: Bool = true, retryInDoublePrecision: Bool = true
    ) throws {
        let resolved = try Self.resolveBase(base)
        guard !(useHeuristicDamping && useExactDamping) else {
            throw Self.heuristicAndExactError
        }
        guard !useHeuristicDamping, !useExactDamping else {
            throw CurvlinopsError.invalidArgument(
                "KFACInverseLinearOperator: got the damping pair (input: \(damping.input), gradient: \(damping.gradient)) with \(useHeuristicDamping ? "heuristic" : "exact") damping; heuristic and exact damping require a single damping value.")
        }
        try self.init(resolved, mode: .perFactor(input: damping.input, gradient: damping.gradient),
                      cache: cache, retryInDoublePrecision: retryInDoublePrecision)
    }

    private init(_ base: Base, mode: KFACDamping<Scalar>, cache: Bool, retryInDoublePrecision: Bool) throws {
        if case .ekfac = base, !mode.isExact {
            throw Self.ekfacWithoutExactDampingError(mode)
        }
        try mode.validate(owner: "KFACInverseLinearOperator")
        self.init(base: base, damping: mode, cache: cache, retryInDoublePrecision: retryInDoublePrecision)
    }

    init(base: Base, damping: KFACDamping<Scalar>, cache: Bool, retryInDoublePrecision: Bool) {
        self.base = base
        self.damping = damping
        self.cache = cache
        self.retryInDoublePrecision = retryInDoublePrecision
        let reportStore = LockedValue<KFACInverseReport<Scalar>?>(nil)
        self.reportStore = reportStore
        self.preparedStore = LazyValue {
            let prepared = try Self.prepare(base: base, damping: damping, retryInDoublePrecision: retryInDoublePrecision)
            reportStore.set(prepared.report)
            return prepared
        }
    }

    /// Damps and factorises every layer's factors now (and keeps them when
    /// `cache` is on), which fills ``report``.
    ///
    /// - Throws: Whatever computing the base operator's factors throws;
    ///   ``CurvlinopsError/Kind/notPositiveDefinite`` when a damped factor or
    ///   damped eigenvalue cannot be inverted, naming the layer and the factor.
    /// - Complexity: O(d³) per factor of size d.
    public func factorize() throws {
        _ = try preparedInverse()
    }

    /// Multiplies the columns of `x` by the damped inverse.
    ///
    /// - Throws: ``CurvlinopsError/Kind/shapeMismatch`` or
    ///   ``CurvlinopsError/Kind/nonFiniteValue`` for a bad `x`; as ``factorize()``.
    /// - Complexity: Per block of d_out × c matrices and k columns,
    ///   2·k·d_out·c·(d_out + c) flops (Cholesky modes) or twice that
    ///   (eigenbasis modes), plus ``factorize()`` on the first apply or, with
    ///   `cache` off, on every apply.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func apply(_ x: Matrix<Scalar>) throws -> Matrix<Scalar> {
        try validateInput(x)
        let prepared = try preparedInverse()
        return try applyKroneckerBlocks(prepared.actions, to: x, size: inputSize)
    }

    /// Returns the operator itself, because the matrix is symmetric.
    public func adjoint() -> any LinearOperator<Scalar> { self }

    func preparedInverse() throws -> PreparedKFACInverse<Scalar> {
        if cache {
            return try preparedStore.value()
        }
        let prepared = try Self.prepare(base: base, damping: damping, retryInDoublePrecision: retryInDoublePrecision)
        reportStore.set(prepared.report)
        return prepared
    }

    static func prepare(
        base: Base, damping: KFACDamping<Scalar>, retryInDoublePrecision: Bool
    ) throws -> PreparedKFACInverse<Scalar> {
        switch (base, damping) {
        case let (.kfac(kfac), .exact(value)):
            return try prepareExact(kfac, damping: value)
        case let (.kfac(kfac), _):
            return try prepareCholesky(kfac, damping: damping, retryInDoublePrecision: retryInDoublePrecision)
        case let (.ekfac(ekfac), .exact(value)):
            return try prepareEKFAC(ekfac, damping: value)
        case (.ekfac, _):
            preconditionFailure("EKFAC without exact damping is rejected by the initializers")
        }
    }

    private static func resolveBase(_ base: any LinearOperator<Scalar>) throws -> Base {
        if let kfac = base as? KFACLinearOperator<Scalar> {
            return .kfac(kfac)
        }
        if let ekfac = base as? EKFACLinearOperator<Scalar> {
            return .ekfac(ekfac)
        }
        throw CurvlinopsError.invalidArgument(
            "KFACInverseLinearOperator: the operator is a \(type(of: base)); expected a KFACLinearOperator or an EKFACLinearOperator. For other operators use CGInverseLinearOperator or LSMRInverseLinearOperator.")
    }

    private static var heuristicAndExactError: CurvlinopsError {
        CurvlinopsError.invalidArgument(
            "KFACInverseLinearOperator: useHeuristicDamping and useExactDamping are both true; use either heuristic damping or exact damping, not both.")
    }

    private static func ekfacWithoutExactDampingError(_ damping: KFACDamping<Scalar>) -> CurvlinopsError {
        CurvlinopsError.invalidArgument(
            "KFACInverseLinearOperator: got damping \(damping) for an EKFACLinearOperator; only exact damping is supported for EKFAC, use .exact(λ) or useExactDamping: true.")
    }
}
