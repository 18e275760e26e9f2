// Helpers shared by the inverse operators. The argument checks throw a
// `CurvlinopsError` whose message names the owner, the argument, the value and
// what was expected.

/// The numbers of products an iterative solver made, for its report.
struct ProductCounts {
    var operatorProducts = 0
    var adjointProducts = 0
    var preconditionerProducts = 0
}

/// Checks that an operator can be inverted: shapes whose sizes fit in `Int`,
/// and as many outputs as inputs.
func validateSquare<Scalar>(_ linearOperator: any LinearOperator<Scalar>, owner: String) throws {
    try validateOperatorShapes(linearOperator, argument: "A", owner: owner)
    guard linearOperator.inputSize == linearOperator.outputSize else {
        throw CurvlinopsError.shapeMismatch(
            "\(owner): A maps \(linearOperator.inputSize) inputs (shapes \(linearOperator.inputShapes)) to \(linearOperator.outputSize) outputs (shapes \(linearOperator.outputShapes)); expected a square operator. For a rectangular least-squares problem use LSMR.solve.")
    }
}

/// Checks that a preconditioner maps A's output space back to its input space.
func validatePreconditioner<Scalar>(
    _ preconditioner: (any LinearOperator<Scalar>)?, for linearOperator: any LinearOperator<Scalar>, owner: String
) throws {
    guard let preconditioner else { return }
    try validateOperatorShapes(preconditioner, argument: "preconditioner", owner: owner)
    guard preconditioner.inputSize == linearOperator.outputSize, preconditioner.outputSize == linearOperator.inputSize else {
        throw CurvlinopsError.shapeMismatch(
            "\(owner): the preconditioner maps \(preconditioner.inputSize) entries to \(preconditioner.outputSize); expected \(linearOperator.outputSize) to \(linearOperator.inputSize) to approximate the inverse of A.")
    }
}

/// Checks that a real hyperparameter is finite and not negative.
func validateNonNegative<Scalar: LapackScalar>(_ value: Scalar, _ name: String, owner: String) throws {
    guard value.isFinite, value >= 0 else {
        throw CurvlinopsError.invalidArgument("\(owner): \(name) = \(value); expected a finite number ≥ 0.")
    }
}

/// Checks that an iteration count is not negative.
func validateCount(_ value: Int, _ name: String, owner: String) throws {
    guard value >= 0 else {
        throw CurvlinopsError.invalidArgument("\(owner): \(name) = \(value); expected an integer ≥ 0.")
    }
}

/// Checks an initial guess against the right-hand side it warm-starts.
///
/// - Parameters:
///   - guess: The initial guess, `nil` for none.
///   - rows: The length of a solution column.
///   - columns: The number of right-hand-side columns.
func validateInitialGuess<Scalar: LapackScalar>(_ guess: Matrix<Scalar>?, rows: Int, columns: Int, owner: String) throws {
    guard let guess else { return }
    guard guess.rows == rows, guess.columns == columns else {
        throw CurvlinopsError.shapeMismatch(
            "\(owner): initialGuess is \(guess.rows) × \(guess.columns); expected \(rows) × \(columns), one column per right-hand side.")
    }
    if let column = guess.firstNonFiniteColumn() {
        throw CurvlinopsError.nonFinite(
            "\(owner): column \(column) of initialGuess contains NaN or infinite entries; expected finite values.")
    }
}

/// Returns the relative residual ‖r‖ / ‖b‖, defined as 0 when both are 0 and
/// as infinity when only b is 0.
func relativeNorm<Scalar: LapackScalar>(_ residualNorm: Scalar, _ rightHandSideNorm: Scalar) -> Double {
    if rightHandSideNorm == 0 {
        return residualNorm == 0 ? 0 : .infinity
    }
    return Double(residualNorm) / Double(rightHandSideNorm)
}
