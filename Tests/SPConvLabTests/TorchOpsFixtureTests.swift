import Foundation
import Testing
@testable import SPConvLab

/// Each op, fast and reference, against PyTorch's output for the same inputs (ops.safetensors).
@Suite struct TorchOpsFixtureTests {
    nonisolated(unsafe) static let cases: [String: [String: Any]] = {
        let data = try! Data(contentsOf: fixtureURL("torch/ops.json"))
        return (try! JSONSerialization.jsonObject(with: data) as! [String: Any])["cases"] as! [String: [String: Any]]
    }()
    static let tensors = try! Safetensors.read(contentsOf: fixtureURL("torch/ops.safetensors").path).tensors

    @Test(arguments: cases.keys.sorted())
    func opMatchesPyTorch(_ name: String) throws {
        let c = Self.cases[name]!
        let t = { (role: String) in Self.tensors["\(name).\(role)"] }
        let x = t("input")!, expected = t("output")!
        let first = { (key: String) in (c[key] as? [Int])?[0] ?? 0 }
        var results: [(String, Tensor)] = []
        switch c["op"] as! String {
        case "conv2d":
            let g = Conv2DGeometry(kernelSize: first("kernel"), stride: first("stride"), padding: first("padding"),
                                   dilation: first("dilation"), groups: c["groups"] as! Int)
            results = [("fast", try Ops.conv2d(x, weight: t("weight")!, bias: t("bias"), geometry: g)),
                       ("reference", ReferenceOps.conv2d(x, weight: t("weight")!, bias: t("bias"), geometry: g))]
        case "max_pool2d":
            let (k, s, p) = (first("kernel"), first("stride"), first("padding"))
            results = [("fast", Ops.maxPool2d(x, kernelSize: k, stride: s, padding: p)),
                       ("reference", ReferenceOps.maxPool2d(x, kernelSize: k, stride: s, padding: p))]
            let pool = try Pooling(inputShape: x.shape, kernelSize: k, stride: s, padding: p, isMax: true)
            results.append(("oneDNN blocked", try pool.run(x.channelBlocked(DNNL.shared.channelBlock)).rowMajor()))
        case "avg_pool2d":
            let (k, s, p) = (first("kernel"), first("stride"), first("padding"))
            results = [("fast", Ops.avgPool2d(x, kernelSize: k, stride: s, padding: p)),
                       ("reference", ReferenceOps.avgPool2d(x, kernelSize: k, stride: s, padding: p))]
            let pool = try Pooling(inputShape: x.shape, kernelSize: k, stride: s, padding: p, isMax: false)
            results.append(("oneDNN blocked", try pool.run(x.channelBlocked(DNNL.shared.channelBlock)).rowMajor()))
        case "adaptive_avg_pool2d":
            results = [("fast", Ops.adaptiveAvgPool2d(x, outputSize: 1)), ("reference", ReferenceOps.adaptiveAvgPool2d(x, outputSize: 1)),
                       ("blocked", LayoutKernels.globalAveragePool(x.channelBlocked(DNNL.shared.channelBlock), block: DNNL.shared.channelBlock))]
        case "batch_norm_eval":
            let (m, v, w, b) = (t("running_mean")!, t("running_var")!, t("weight")!, t("bias")!)
            results = [("fast", Ops.batchNorm(x, mean: m, variance: v, scale: w, shift: b)),
                       ("reference", ReferenceOps.batchNorm(x, mean: m, variance: v, scale: w, shift: b))]
        case "linear":
            results = [("fast", Ops.linear(x, weight: t("weight")!, bias: t("bias"))),
                       ("reference", ReferenceOps.linear(x, weight: t("weight")!, bias: t("bias")))]
        case "softmax":
            let axis = c["dim"] as! Int
            results = [("fast", Ops.softmax(x, axis: axis)), ("reference", ReferenceOps.softmax(x, axis: axis))]
        case "relu":
            results = [("fast", Ops.relu(x)), ("reference", ReferenceOps.relu(x))]
        default:
            Issue.record("unknown op \(c["op"]!) in ops.json")
        }
        #expect(!results.isEmpty)
        for (label, result) in results {
            expectClose(result, expected, rtol: 1e-4, atol: 1e-5, "\(name) \(label)")
        }
    }
}
