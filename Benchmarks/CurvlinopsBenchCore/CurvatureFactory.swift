import Curvlinops

/// Builds the KFAC and EKFAC operators the main job and the workloads use,
/// from a network and its data.
///
/// Every operator covers all parameters of the network, with weight and bias
/// of a layer as separate blocks (curvlinops' default) and KFAC-expand.
public enum CurvatureFactory {
    /// KFAC of `model` on `data`, with its Kronecker factors computed.
    ///
    /// - Parameters:
    ///   - fisherType: How the gradient factors are formed.
    ///   - progress: Called after each batch with the batches done and their total.
    /// - Throws: ``CurvlinopsError`` from the construction or the computation.
    public static func kfac<Scalar: LapackScalar>(
        model: Sequential<Scalar>, loss: any Loss, data: [Batch<Scalar>], fisherType: FisherType,
        progress: KFACProgressHandler? = nil
    ) throws -> KFACLinearOperator<Scalar> {
        let kfac = try KFACLinearOperator(
            model: model, loss: loss, parameters: model.parameterNames, data: data, fisherType: fisherType,
            progress: progress)
        try kfac.computeKroneckerFactors()
        return kfac
    }

    /// EKFAC of `model` on `data`, with its eigenvalue correction computed.
    ///
    /// - Parameters:
    ///   - fisherType: How the gradient factors and the corrected eigenvalues are formed.
    ///   - progress: Called after each batch of both passes with the batches done and their total.
    /// - Throws: ``CurvlinopsError`` from the construction or the computation.
    public static func ekfac<Scalar: LapackScalar>(
        model: Sequential<Scalar>, loss: any Loss, data: [Batch<Scalar>], fisherType: FisherType,
        progress: KFACProgressHandler? = nil
    ) throws -> EKFACLinearOperator<Scalar> {
        let ekfac = try EKFACLinearOperator(
            model: model, loss: loss, parameters: model.parameterNames, data: data, fisherType: fisherType,
            progress: progress)
        try ekfac.computeEigenvalueCorrection()
        return ekfac
    }
}
