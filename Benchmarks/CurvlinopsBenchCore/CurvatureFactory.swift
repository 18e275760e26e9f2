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
    ///   - progress: Called after each batch with the number of batches done and the total.
    /// - Throws: ``BenchError`` when the library cannot build KFAC from a
    ///   model; ``CurvlinopsError`` from the computation.
    public static func kfac<Scalar: LapackScalar>(
        model: Sequential<Scalar>, loss: any Loss, data: [Batch<Scalar>], fisherType: FisherType,
        progress: (@Sendable (Int, Int) -> Void)? = nil
    ) throws -> KFACLinearOperator<Scalar> {
        throw missing("KFACLinearOperator(model:loss:parameters:data:fisherType:…)")
    }

    /// EKFAC of `model` on `data`, with its eigenvalue correction computed.
    ///
    /// - Parameters:
    ///   - fisherType: How the gradient factors and the corrected eigenvalues are formed.
    ///   - progress: Called after each batch of each pass with the number of batches done and the total.
    /// - Throws: ``BenchError`` when the library cannot build EKFAC from a
    ///   model; ``CurvlinopsError`` from the computation.
    public static func ekfac<Scalar: LapackScalar>(
        model: Sequential<Scalar>, loss: any Loss, data: [Batch<Scalar>], fisherType: FisherType,
        progress: (@Sendable (Int, Int) -> Void)? = nil
    ) throws -> EKFACLinearOperator<Scalar> {
        throw missing("EKFACLinearOperator(model:loss:parameters:data:fisherType:…)")
    }

    private static func missing(_ constructor: String) -> BenchError {
        BenchError("the library has no \(constructor) yet, so this step cannot run; it needs the model-based KFAC constructors.")
    }
}
