import Foundation
import SPConvLab

extension CheckpointStore {
    /// The columns of ``table(_:)``.
    public static let tableColumns = [
        "model", "variant", "ratio", "groups", "seed", "epochs", "done", "test_accuracy", "best_accuracy", "weights_kb",
        "dataset", "train_images", "test_images", "recipe", "key", "file",
    ]

    /// Stored runs as rows for ``QueryFormatter``, in the given order: configuration, seed, epochs
    /// asked and done, final and best test accuracy (fractions), the weights file's size, the data,
    /// a short recipe (`b128 lr0.1 m0.9 wd0.0005 cosine w1 ls0.0 crop2 flip`), the store key and the
    /// weights file (marked `(not filed)` when its name is not its identity's).
    public static func table(_ entries: [Entry]) -> QueryResult {
        QueryResult(columns: tableColumns, rows: entries.map { entry in
            let i = entry.identity, r = i.recipe, s = entry.sidecar
            let recipe = "b\(r.batchSize) lr\(r.learningRate) m\(r.momentum) wd\(r.weightDecay) \(r.schedule.description) w\(r.warmupEpochs) ls\(r.labelSmoothing) crop\(r.cropPadding)\(r.horizontalFlip ? " flip" : "")"
            let size = (try? FileManager.default.attributesOfItem(atPath: entry.files.weights)[.size] as? Int) ?? nil
            return [.text(i.spec.architecture.rawValue), .text(i.spec.variant.name),
                    SQLValue(i.spec.variant.spconvConfiguration?.ratio), SQLValue(i.spec.variant.spconvConfiguration?.groups),
                    .integer(Int64(truncatingIfNeeded: r.seed)), SQLValue(r.epochs), SQLValue(s.completedEpochs),
                    s.completedEpochs > 0 ? .real(s.finalTestAccuracy) : .null, s.completedEpochs > 0 ? .real(s.bestTestAccuracy) : .null,
                    size.map { SQLValue(($0 + 512) / 1024) } ?? .null, .text(i.dataset), SQLValue(i.trainImages), SQLValue(i.testImages),
                    .text(recipe), .text(i.key), .text(entry.files.weights + (entry.isFiled ? "" : " (not filed)"))]
        })
    }
}
