/// The corrected eigenvalues of one layer of EKFAC.
///
/// Entry Λ[i, j] belongs to the i-th eigenvector of the gradient factor G and
/// the j-th eigenvector of the input factor A, both in ascending order of
/// their eigenvalues. The block of a weight is
/// kron(Q_G, Q_A)·diag(vec(Λ))·kron(Q_G, Q_A)ᵀ with vec row-major; the block
/// of a bias is Q_G·diag(λ)·Q_Gᵀ.
public enum EKFACCorrectedEigenvalues<Scalar: LapackScalar>: Sendable, Equatable {
    /// A layer whose weight and bias form separate blocks: Λ of size
    /// d_out × d_in for the weight, λ of length d_out for the bias; either is
    /// `nil` when the operator does not cover that parameter.
    case separate(weight: Matrix<Scalar>?, bias: [Scalar]?)

    /// A joint layer: Λ of size d_out × (d_in + 1), the last column for the bias.
    case joint(Matrix<Scalar>)

    /// Checks the shape and values against a layer and returns the scaling
    /// matrix of each of the layer's blocks.
    func scalings(
        for layer: KroneckerLayout.Layer, owner: String
    ) throws -> [KroneckerBlock.Kind: Matrix<Scalar>] {
        let argument = "correctedEigenvalues[\"\(layer.name)\"]"
        let rows = layer.outputDimension
        switch self {
        case let .joint(values):
            guard layer.joint else {
                throw CurvlinopsError.invalidArgument(
                    "\(owner): \(argument) is .joint, but layer \"\(layer.name)\" is not joint (it needs both weight and bias and separateWeightAndBias false); expected .separate(weight:bias:).")
            }
            try Self.check(values, rows: rows, columns: layer.inputDimension + 1, argument: argument, owner: owner)
            return [.joint: values]

        case let .separate(weight, bias):
            guard !layer.joint else {
                throw CurvlinopsError.invalidArgument(
                    "\(owner): \(argument) is .separate, but layer \"\(layer.name)\" is joint; expected .joint with a \(rows) × \(layer.inputDimension + 1) matrix.")
            }
            var result: [KroneckerBlock.Kind: Matrix<Scalar>] = [:]
            switch (layer.hasWeight, weight) {
            case let (true, weight?):
                try Self.check(weight, rows: rows, columns: layer.inputDimension, argument: "\(argument).weight", owner: owner)
                result[.weight] = weight
            case (true, nil):
                throw CurvlinopsError.invalidArgument(
                    "\(owner): \(argument) has no weight eigenvalues, but the operator covers the weight of layer \"\(layer.name)\"; expected a \(rows) × \(layer.inputDimension) matrix.")
            case (false, .some):
                throw CurvlinopsError.invalidArgument(
                    "\(owner): \(argument) has weight eigenvalues, but the operator does not cover the weight of layer \"\(layer.name)\"; expected nil.")
            case (false, nil):
                break
            }
            switch (layer.biasPosition != nil, bias) {
            case let (true, bias?):
                let column = try Matrix(rows: bias.count, columns: 1, columnMajor: bias)
                try Self.check(column, rows: rows, columns: 1, argument: "\(argument).bias", owner: owner)
                result[.bias] = column
            case (true, nil):
                throw CurvlinopsError.invalidArgument(
                    "\(owner): \(argument) has no bias eigenvalues, but the operator covers the bias of layer \"\(layer.name)\"; expected \(rows) values.")
            case (false, .some):
                throw CurvlinopsError.invalidArgument(
                    "\(owner): \(argument) has bias eigenvalues, but the operator does not cover the bias of layer \"\(layer.name)\"; expected nil.")
            case (false, nil):
                break
            }
            return result
        }
    }

    private static func check(_ values: Matrix<Scalar>, rows: Int, columns: Int, argument: String, owner: String) throws {
        guard values.rows == rows, values.columns == columns else {
            throw CurvlinopsError.shapeMismatch(
                "\(owner): \(argument) is \(values.rows) × \(values.columns); expected \(rows) × \(columns) (d_out × number of input eigenvectors).")
        }
        guard values.isFinite else {
            throw CurvlinopsError.nonFinite("\(owner): \(argument) contains NaN or infinite entries; expected finite values.")
        }
        if let negative = values.elements.first(where: { $0 < 0 }) {
            throw CurvlinopsError.invalidArgument(
                "\(owner): \(argument) contains the negative value \(negative); corrected eigenvalues are sums of squares, expected values ≥ 0.")
        }
    }
}
