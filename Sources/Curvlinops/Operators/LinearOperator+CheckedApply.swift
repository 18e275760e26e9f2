// The check that library code runs on the result of every operator it did
// not write itself. A conformer's `apply` is user code, so its result may
// have the wrong shape or hold NaN, and the library code that consumes it
// (axpy into a sum, dot products in a solver) would otherwise trap on a
// precondition or carry NaN on silently.

extension LinearOperator {
    /// Applies the operator for library code and checks the result: it must
    /// be ``outputSize`` × `x.columns` and finite.
    ///
    /// Sums, scalings, compositions, the iterative solvers (their products
    /// with A, Aᵀ and the preconditioner) and the vector, block and dense
    /// forms of the protocol call this instead of ``apply(_:)-(Matrix<Scalar>)``.
    /// Messages read "`owner`: `role` (`TypeName`) returned …".
    ///
    /// - Parameters:
    ///   - x: A valid input: ``inputSize`` rows and finite entries.
    ///   - owner: The routine that applies the operator, such as `"CG"` or
    ///     `"SumLinearOperator.apply"`.
    ///   - role: What the operator is to `owner`, such as `"the operator A"` or `"term 1"`.
    ///   - columnNumbers: The caller's numbers of the columns of `x`, used in
    ///     messages. Default `nil`: the columns are numbered 0, 1, ….
    /// - Returns: The operator's result.
    /// - Throws: ``CurvlinopsError/Kind/shapeMismatch`` when the result does not
    ///   have ``outputSize`` rows and as many columns as `x`,
    ///   ``CurvlinopsError/Kind/numericalBreakdown`` naming the first column
    ///   with a NaN or an infinity; and whatever the operator's apply throws.
    /// - Complexity: One apply, plus one pass over the result.
    func checkedApply(
        _ x: Matrix<Scalar>, owner: String, role: String, columnNumbers: [Int]? = nil
    ) throws -> Matrix<Scalar> {
        let result = try apply(x)
        try checkResult(result, of: x, owner: owner, role: role, columnNumbers: columnNumbers)
        return result
    }

    /// Checks a result of ``apply(_:)-(Matrix<Scalar>)`` as ``checkedApply(_:owner:role:columnNumbers:)`` does.
    ///
    /// - Parameters:
    ///   - result: What the operator returned for `x`.
    ///   - x: The input it was applied to.
    ///   - owner, role, columnNumbers: As for ``checkedApply(_:owner:role:columnNumbers:)``.
    /// - Throws: As ``checkedApply(_:owner:role:columnNumbers:)``.
    func checkResult(
        _ result: Matrix<Scalar>, of x: Matrix<Scalar>, owner: String, role: String, columnNumbers: [Int]? = nil
    ) throws {
        guard result.rows == outputSize, result.columns == x.columns else {
            throw CurvlinopsError.shapeMismatch(
                "\(owner): \(role) (\(operatorName)) returned a \(result.rows) × \(result.columns) matrix for a \(x.rows) × \(x.columns) input; expected \(outputSize) × \(x.columns), its outputSize (output shapes \(outputShapes)) × the number of input columns. Check the operator's apply against its outputShapes.")
        }
        if let column = result.firstNonFiniteColumn() {
            let number = columnNumbers?[column] ?? column
            let value = result.column(column).first { !$0.isFinite }!
            throw CurvlinopsError(
                .numericalBreakdown,
                "\(owner): \(role) (\(operatorName)) returned NaN or infinite values (\(value)) in column \(number) for finite input; expected finite values. Rescale the operator if its products overflow, or check its apply.")
        }
    }
}

extension Matrix {
    /// Throws when an operator's own arithmetic on finite input produced NaN
    /// or an infinity, which happens when its products overflow.
    ///
    /// - Parameters:
    ///   - owner: The routine that computed the matrix, such as `"DenseLinearOperator.apply"`.
    ///   - what: The quantity, such as `"the product matrix · X"`.
    ///   - remedy: What the caller can do, a sentence.
    /// - Throws: ``CurvlinopsError/Kind/numericalBreakdown`` naming the first
    ///   column with a NaN or an infinity.
    func checkNoOverflow(owner: String, what: String, remedy: String) throws {
        guard let column = firstNonFiniteColumn() else { return }
        let value = self.column(column).first { !$0.isFinite }!
        throw CurvlinopsError(
            .numericalBreakdown,
            "\(owner): \(what) overflowed to \(value) in column \(column) for finite input; expected finite values. \(remedy)")
    }
}
