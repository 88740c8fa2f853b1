import Foundation
import SPConvCore
import SPConvKernels

/// A folder of trained checkpoints, each filed under its ``TrainingIdentity``.
///
/// A run of identity `I` lives in three files named after ``TrainingIdentity/fileStem``:
/// `S.safetensors` (the PyTorch `state_dict`, with the network's configuration in its metadata),
/// `S.json` (the ``TrainingSidecar``: every setting, the per-epoch history, the accuracy) and,
/// while the run is unfinished, `S.optim.safetensors` (momentum buffers and a copy of the model
/// state, written atomically after every epoch, from which an interrupted run resumes). Weights
/// are found by what they are, never by a path typed by hand: ``entry(for:)`` looks an identity
/// up, ``train(_:trainSet:testSet:normalization:writer:progress:events:)`` trains it or reuses
/// it, ``entries()`` lists the folder.
public struct CheckpointStore: Sendable {
    /// The store `train` and `sweep` use unless told otherwise, relative to the repository root.
    public static let defaultFolder = "notebooks-data/models"

    /// The store's folder.
    public let folder: String

    public init(folder: String) {
        self.folder = folder
    }

    /// The three files of one run.
    public struct Files: Sendable, Equatable {
        public var weights: String
        public var optimizerState: String
        public var sidecar: String
    }

    /// One run in the store.
    public struct Entry: Sendable {
        public var identity: TrainingIdentity
        public var sidecar: TrainingSidecar
        public var files: Files
        /// Whether every epoch of the recipe is done.
        public var isFinished: Bool { sidecar.finished && sidecar.completedEpochs == identity.recipe.epochs }
        /// Whether the files are named after the identity's key (false for a checkpoint copied
        /// in by hand under another name; ``CheckpointStore/importRun(weights:)`` files it).
        public var isFiled: Bool

        /// The SHA-256 of the weights file.
        public func weightsSHA256() throws -> String { try SHA256.hex(ofFile: files.weights) }
    }

    /// Where the run of `identity` is (or would be) stored.
    public func files(for identity: TrainingIdentity) -> Files {
        Self.files(stem: URL(fileURLWithPath: folder).appendingPathComponent(identity.fileStem).path)
    }

    static func files(stem: String) -> Files {
        Files(weights: stem + ".safetensors", optimizerState: stem + ".optim.safetensors", sidecar: stem + ".json")
    }

    /// The run of `identity`, finished or not, or nil when the store has none.
    ///
    /// - Throws: `SPConvLabError(.invalidWeights)` when the files under the identity's name
    ///   describe another run or a finished run lacks its weights (a store changed by hand).
    public func entry(for identity: TrainingIdentity) throws -> Entry? {
        let files = files(for: identity)
        guard FileManager.default.fileExists(atPath: files.sidecar) else { return nil }
        let sidecar = try TrainingSidecar.read(files.sidecar)
        let stored = try sidecar.identity(source: files.sidecar)
        guard stored == identity else {
            throw SPConvLabError(.invalidWeights, "The store \(folder) holds \(files.sidecar) under the key of \(identity.summary), but the file describes \(stored.summary) (key \(stored.key)). The store was changed by hand; move the file away and run again.")
        }
        let entry = Entry(identity: identity, sidecar: sidecar, files: files, isFiled: true)
        if entry.isFinished {
            guard FileManager.default.fileExists(atPath: files.weights) else {
                throw SPConvLabError(.invalidWeights, "The store \(folder) has the record \(files.sidecar) of the finished run \(identity.summary) but not its weights \(files.weights). Restore the file, or remove the record to train the run again.")
            }
            if let epoch = Trainer.weightsEpoch(files.weights), epoch != sidecar.completedEpochs {
                throw SPConvLabError(.invalidWeights, "The store \(folder) records \(identity.summary) as finished after epoch \(sidecar.completedEpochs), but its weights \(files.weights) are from epoch \(epoch). The files were changed by hand or torn; remove both to train the run again.")
            }
        }
        return entry
    }

    /// Every run in the store, by file name, and a note for each JSON file that is not a readable
    /// sidecar or lacks its weights.
    public func entries() throws -> (entries: [Entry], problems: [String]) {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: folder).sorted()
        } catch {
            throw SPConvLabError(.io, "The checkpoint store \(folder) cannot be listed: \(error.localizedDescription). Give an existing folder with --store (default \(Self.defaultFolder)).")
        }
        var entries: [Entry] = [], problems: [String] = []
        for name in names where name.hasSuffix(".json") && !name.hasPrefix(".") {
            let stem = URL(fileURLWithPath: folder).appendingPathComponent(String(name.dropLast(".json".count))).path
            let files = Self.files(stem: stem)
            do {
                let sidecar = try TrainingSidecar.read(files.sidecar)
                let identity = try sidecar.identity(source: files.sidecar)
                guard FileManager.default.fileExists(atPath: files.weights) || !sidecar.finished else {
                    problems.append("\(files.sidecar): the weights \(files.weights) are missing")
                    continue
                }
                let filed = URL(fileURLWithPath: stem).lastPathComponent == identity.fileStem
                entries.append(Entry(identity: identity, sidecar: sidecar, files: files, isFiled: filed))
            } catch let error as SPConvLabError {
                problems.append(error.message)
            }
        }
        return (entries, problems)
    }

    /// Files a checkpoint that `probe-cli train --output` wrote (`F.safetensors` with `F.json`
    /// and, for an unfinished run, `F.optim.safetensors`) under its identity. The weights are
    /// written anew with the network's configuration and the store key in their metadata (the
    /// tensors' values are unchanged); the other files are copied.
    ///
    /// - Returns: the stored entry. A run the store already has finished is left as it is.
    /// - Throws: `SPConvLabError` when the sidecar is missing or unreadable, or the store has an
    ///   unfinished run of the same identity that is further along.
    @discardableResult
    public func importRun(weights path: String) throws -> Entry {
        guard path.hasSuffix(".safetensors"), !path.hasSuffix(".optim.safetensors") else {
            throw SPConvLabError(.io, "\(path) is not a checkpoint to import: give the weights file F.safetensors that train --output wrote (F.json must be beside it).")
        }
        let source = Self.files(stem: String(path.dropLast(".safetensors".count)))
        guard FileManager.default.fileExists(atPath: source.sidecar) else {
            throw SPConvLabError(.io, "\(path) cannot be imported: its training record \(source.sidecar) is missing, so what it was trained on is unknown. Only checkpoints with their sidecar can go into the store.")
        }
        var sidecar = try TrainingSidecar.read(source.sidecar)
        let identity = try sidecar.identity(source: source.sidecar)
        if let deviations = sidecar.deviations, !deviations.isEmpty {
            throw SPConvLabError(.invalidConfiguration, "\(path) cannot be filed as \(identity.summary): it was not trained as that identity says (\(deviations.joined(separator: "; "))), so the store would hand it out as a run it is not. Keep it as a file of your own (--weights).")
        }
        if let existing = try entry(for: identity) {
            if existing.isFinished { return existing }
            if existing.sidecar.completedEpochs > sidecar.completedEpochs {
                throw SPConvLabError(.invalidConfiguration, "The store already has \(identity.summary) after epoch \(existing.sidecar.completedEpochs), further along than \(path) (epoch \(sidecar.completedEpochs)); nothing was imported.")
            }
        }
        try ensureFolder()
        let target = files(for: identity)
        // Written anew through the network, so the file carries the configuration in its metadata.
        let network = try Network(identity.spec)
        try network.loadWeights(contentsOf: path)
        let archive = try Safetensors.read(contentsOf: path)
        var metadata = archive.metadata.merging(identity.spec.checkpointMetadata) { _, spec in spec }
        metadata["store_key"] = identity.key
        metadata["training_identity"] = identity.canonicalText
        try network.saveWeights(to: target.weights, metadata: metadata)
        if !sidecar.finished {
            guard FileManager.default.fileExists(atPath: source.optimizerState) else {
                throw SPConvLabError(.io, "\(path) is an unfinished run (epoch \(sidecar.completedEpochs) of \(sidecar.epochs)) and its optimizer state \(source.optimizerState) is missing, so it could not be resumed; nothing was imported.")
            }
            try FileBytes.writeAtomically(try FileBytes.read(contentsOf: source.optimizerState), to: target.optimizerState)
        }
        sidecar.storeKey = identity.key
        try sidecar.write(to: target.sidecar)
        return Entry(identity: identity, sidecar: sidecar, files: target, isFiled: true)
    }

    func ensureFolder() throws {
        var isFolder: ObjCBool = false
        if FileManager.default.fileExists(atPath: folder, isDirectory: &isFolder) {
            guard isFolder.boolValue else {
                throw SPConvLabError(.io, "The checkpoint store \(folder) is a file, not a folder; give a folder with --store (default \(Self.defaultFolder)).")
            }
            return
        }
        do {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        } catch {
            throw SPConvLabError(.io, "The checkpoint store \(folder) cannot be created: \(error.localizedDescription). Give a writable folder with --store.")
        }
    }
}
