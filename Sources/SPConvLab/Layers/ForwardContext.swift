import SPConvCore
import SPConvKernels

/// State threaded through one forward pass: the backend, the module path being run, and the
/// module outputs the caller asked to capture.
///
/// Capturing keeps a reference to an output that is computed anyway: it costs no extra pass and
/// no copy. Modules whose fused fast path would skip materialising a requested output fall back
/// to their unfused path for that pass (`wantsCapture(inside:)`).
public final class ForwardContext {
    public let backend: Backend
    public let capturePaths: Set<String>
    public private(set) var captured: [String: Tensor] = [:]
    private var pathStack: [String] = []
    private let captureAncestors: Set<String>

    public init(backend: Backend = .fast, capturing paths: Set<String> = []) {
        self.backend = backend
        self.capturePaths = paths
        var ancestors: Set<String> = [""]
        for path in paths {
            var parts = path.split(separator: ".").map(String.init)
            while !parts.isEmpty { parts.removeLast(); ancestors.insert(parts.joined(separator: ".")) }
        }
        captureAncestors = paths.isEmpty ? [] : ancestors
    }

    /// The dotted path of the module currently running.
    public var currentPath: String { pathStack.joined(separator: ".") }

    /// Runs `child` as the submodule `name` of the current module and records its output if asked.
    public func call(_ child: any Layer, _ name: String, _ input: Tensor) throws -> Tensor {
        pathStack.append(name)
        defer { pathStack.removeLast() }
        let output = try child.forward(input, context: self)
        if !capturePaths.isEmpty {
            let path = currentPath
            if capturePaths.contains(path) { captured[path] = output.rowMajor() }
        }
        return output
    }

    /// Runs `body` as if inside submodule `name` (for fused paths that call a child directly).
    func within<R>(_ name: String, _ body: () throws -> R) rethrows -> R {
        pathStack.append(name)
        defer { pathStack.removeLast() }
        return try body()
    }

    /// True when some requested capture lies strictly inside the current module.
    public var wantsCaptureInside: Bool {
        !captureAncestors.isEmpty && captureAncestors.contains(currentPath)
    }
}
