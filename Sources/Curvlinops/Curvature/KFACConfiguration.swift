/// The source of the gradient factor G of a KFAC approximation.
///
/// The input factor A is the same for every type. The type decides which
/// vectors are back-propagated to form G (Martens & Grosse 2015):
///
/// ```
/// type2:       the columns of a square root S of the loss Hessian, S·Sᵀ = ∇²ℓ
/// monteCarlo:  gradients of the loss at labels drawn from the model's prediction
/// empirical:   gradients of the loss at the true labels
/// forwardOnly: none; G = I
/// ```
///
/// An operator built from given factors only records the type; the factors
/// define the operator.
public enum FisherType: Sendable, Hashable {
    /// The exact Fisher (generalised Gauss–Newton) through a square root of the loss Hessian.
    case type2
    /// A Monte-Carlo estimate of the Fisher with `samples` draws per datum from a
    /// random generator seeded with `seed`; `samples` must be at least 1.
    ///
    /// Memory grows with `samples`: the sampled output gradients of a batch,
    /// `samples`·N_b·T·C values, are held at once.
    case monteCarlo(samples: Int, seed: UInt64)
    /// The empirical Fisher, from the gradients at the true labels.
    case empirical
    /// No gradient information: every gradient factor is the identity.
    case forwardOnly
}

extension FisherType {
    /// Checks the Monte-Carlo sample count, which must be at least 1.
    ///
    /// - Throws: ``CurvlinopsError/Kind/invalidArgument`` naming `owner`.
    func validate(owner: String) throws {
        if case let .monteCarlo(samples, seed) = self, samples < 1 {
            throw CurvlinopsError.invalidArgument(
                "\(owner): got fisherType = .monteCarlo(samples: \(samples), seed: \(seed)); expected samples ≥ 1.")
        }
    }
}

/// The treatment of a layer whose weight is shared over several positions, such
/// as a `Linear` layer on sequences or a `Conv2d` layer (Eschenhagen et al. 2023).
///
/// With S positions per datum and N data:
///
/// ```
/// expand: A = 1/(N·S) Σₙ Σₛ aₙₛ aₙₛᵀ,   G = κ Σₙ Σₛ gₙₛ gₙₛᵀ
/// reduce: A = 1/N Σₙ āₙ āₙᵀ with āₙ = 1/S Σₛ aₙₛ,   G = κ Σₙ (Σₛ gₙₛ)(Σₛ gₙₛ)ᵀ
/// ```
///
/// Both coincide for layers without weight sharing. An operator built from
/// given factors only records the choice.
public enum KFACApproximation: String, Sendable, Hashable, CaseIterable {
    /// Treat every position as an independent datum.
    case expand
    /// Average the inputs and sum the gradients over positions first.
    case reduce
}

/// One layer of a Kronecker-factored operator: its name and which parameter
/// blocks hold its weight and its bias.
///
/// The positions index the operator's parameter list (its `inputShapes`). A
/// layer may have a weight only, a bias only, or both. The weight has shape
/// `[d_out, …]`: a `Linear` weight `[d_out, d_in]`, a `Conv2d` weight
/// `[C_out, C_in, kh, kw]` viewed as `[C_out, C_in·kh·kw]`. The bias has shape `[d_out]`.
public struct KFACLayer: Sendable, Hashable, Codable {
    /// The layer's name, which keys its Kronecker factors (PyTorch names a
    /// layer of a `Sequential` by its index: `"0"`, `"2"`).
    public let name: String

    /// The position of the weight among the parameters, or `nil` when the
    /// operator does not cover the weight.
    public let weightPosition: Int?

    /// The position of the bias among the parameters, or `nil` when the
    /// operator does not cover the bias.
    public let biasPosition: Int?

    /// Creates a layer description.
    ///
    /// - Parameters:
    ///   - name: The layer's name.
    ///   - weightPosition: The position of the weight among the parameters. Default `nil`: no weight.
    ///   - biasPosition: The position of the bias among the parameters. Default `nil`: no bias.
    public init(name: String, weightPosition: Int? = nil, biasPosition: Int? = nil) {
        self.name = name
        self.weightPosition = weightPosition
        self.biasPosition = biasPosition
    }
}
