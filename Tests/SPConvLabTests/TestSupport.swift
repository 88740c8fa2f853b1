import Foundation
import Testing
@testable import SPConvLab

/// Checks two tensors have the same shape and agree within `|a - b| <= atol + rtol * |b|` everywhere.
func expectClose(_ actual: Tensor, _ expected: Tensor, rtol: Float = 1e-4, atol: Float = 1e-5,
                 _ comment: Comment? = nil, sourceLocation: SourceLocation = #_sourceLocation) {
    let (actual, expected) = (actual.rowMajor(), expected.rowMajor())
    #expect(actual.shape == expected.shape, comment, sourceLocation: sourceLocation)
    guard actual.shape == expected.shape else { return }
    var worst: (index: Int, excess: Float) = (-1, 0)
    for i in 0..<actual.count {
        let (a, b) = (actual.scalars[i], expected.scalars[i])
        let excess = abs(a - b) - (atol + rtol * abs(b))
        if !(excess <= 0) && (worst.index < 0 || excess > worst.excess || excess.isNaN) { worst = (i, excess) }
    }
    #expect(worst.index < 0,
            "\(comment.map { "\($0): " } ?? "")element \(worst.index) differs: \(worst.index >= 0 ? actual.scalars[worst.index] : 0) vs \(worst.index >= 0 ? expected.scalars[worst.index] : 0)",
            sourceLocation: sourceLocation)
}

/// The largest relative difference `max |a - b| / max |b|` between two same-shaped tensors.
func maxRelativeDifference(_ actual: Tensor, _ expected: Tensor) -> Float {
    let (actual, expected) = (actual.rowMajor(), expected.rowMajor())
    precondition(actual.shape == expected.shape, "shapes differ: \(actual.shape) vs \(expected.shape)")
    let scale = expected.scalars.map(abs).max() ?? 1
    let diff = zip(actual.scalars, expected.scalars).map { abs($0 - $1) }.max() ?? 0
    return diff / max(scale, 1e-12)
}

/// The URL of a file under Tests/SPConvLabTests/Fixtures.
func fixtureURL(_ relativePath: String) -> URL {
    Bundle.module.resourceURL!.appendingPathComponent("Fixtures").appendingPathComponent(relativePath)
}
