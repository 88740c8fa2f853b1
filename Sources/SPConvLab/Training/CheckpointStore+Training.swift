import Foundation
import SPConvCore
import SPConvKernels

extension CheckpointStore {
    /// What ``train(_:trainSet:testSet:normalization:writer:progress:events:)`` is doing.
    public enum TrainingEvent: Sendable {
        /// The store had the finished run; nothing was trained.
        case reused(Entry)
        /// An unfinished run continues after this many finished epochs.
        case resumed(afterEpoch: Int)
        /// A run starts from its seeded initial weights.
        case started
        /// An epoch finished and its checkpoint is written.
        case epochFinished(EpochRecord)
    }

    /// What to do when the store lacks a finished run.
    public enum Policy: Sendable {
        /// Train it (resuming an unfinished run).
        case trainIfMissing
        /// Never train: a missing or unfinished run is an error.
        case reuseOnly
    }

    /// The trained network of `identity`: the store's finished run, or a run trained now.
    ///
    /// Without a finished run, the network is built with the recipe's seed and trained on
    /// `trainSet` and `testSet`, which must hold exactly the identity's image counts; an
    /// unfinished run in the store resumes after its last finished epoch. After every epoch the
    /// checkpoint, optimizer state and sidecar are written, so a process killed at any moment
    /// loses at most the epoch it was in. When the last epoch is done the optimizer state is
    /// removed (a finished run needs only its weights and sidecar).
    ///
    /// - Returns: the finished entry and the network with its weights.
    /// - Throws: `SPConvLabError` when the data does not match the identity, the store's files
    ///   are damaged, the policy forbids training, or training fails.
    public func train(_ identity: TrainingIdentity, trainSet: LabelledImages, testSet: LabelledImages,
                      normalization: Normalization, writer: TrainingSidecar.Writer, policy: Policy = .trainIfMissing,
                      progress: (TrainingProgress) -> Void = { _ in },
                      events: (TrainingEvent) throws -> Void = { _ in }) throws -> (entry: Entry, network: Network) {
        let files = files(for: identity)
        try ensureFolder()
        // One process per run: a second one (another sweep, a train in another shell) would
        // write the same files.
        let lockPath = String(files.sidecar.dropLast(".json".count)) + ".lock"
        guard let lock = try FileLock(path: lockPath) else {
            throw SPConvLabError(.invalidConfiguration, "Another process is training \(identity.summary) in the store \(folder) right now (it holds \(lockPath)). Wait for it to finish, then run again: the finished run will be reused.")
        }
        defer {
            lock.release()
            try? FileManager.default.removeItem(atPath: lockPath)
        }
        let existing = try entry(for: identity)
        if let existing, existing.isFinished {
            try? FileManager.default.removeItem(atPath: files.optimizerState)
            let network = try Network(identity.spec, seed: identity.recipe.seed)
            try network.loadWeights(contentsOf: files.weights)
            try events(.reused(existing))
            return (existing, network)
        }
        guard policy == .trainIfMissing else {
            let state = existing.map { "only \($0.sidecar.completedEpochs) of \(identity.recipe.epochs) epochs" } ?? "no checkpoint"
            throw SPConvLabError(.invalidConfiguration, "The checkpoint store \(folder) has \(state) of \(identity.summary) (key \(identity.key)), and this command does not train. Train it first: probe-cli train --model \(identity.spec.architecture.rawValue) ... --seed \(identity.recipe.seed) --store \(folder), or probe-cli sweep --train-epochs \(identity.recipe.epochs).")
        }
        guard trainSet.count == identity.trainImages, testSet.count == identity.testImages else {
            throw SPConvLabError(.invalidConfiguration, "The run \(identity.summary) trains on \(identity.trainImages) images and tests on \(identity.testImages), but the data given has \(trainSet.count) and \(testSet.count).")
        }
        let network = try Network(identity.spec, seed: identity.recipe.seed)
        let trainer = try Trainer(network: network, configuration: identity.recipe, trainSet: trainSet, testSet: testSet)
        trainer.checkpointPath = files.weights
        trainer.checkpointMetadata = ["store_key": identity.key, "training_identity": identity.canonicalText]
        var previousSeconds = 0.0
        if FileManager.default.fileExists(atPath: files.optimizerState) {
            do {
                try trainer.resume(from: files.weights)
            } catch let error as SPConvLabError {
                throw SPConvLabError(error.kind, "The unfinished run \(identity.summary) in the store \(folder) cannot be resumed: \(error.message) To train it again from the start, delete \(files.optimizerState) and \(files.sidecar).")
            }
            previousSeconds = existing?.sidecar.wallSeconds ?? 0
            try events(.resumed(afterEpoch: trainer.history.count))
        } else {
            try events(.started)
        }
        let clock = Stopwatch.start()
        func sidecar() -> TrainingSidecar {
            TrainingSidecar(identity: identity, history: trainer.history, normalization: normalization, threads: Engine.threads,
                            wallSeconds: previousSeconds + clock.seconds, writer: writer, storeKey: identity.key)
        }
        try trainer.train(progress: progress, epochFinished: { record in
            try sidecar().write(to: files.sidecar)
            try events(.epochFinished(record))
        })
        let finished = sidecar()
        try finished.write(to: files.sidecar)
        try? FileManager.default.removeItem(atPath: files.optimizerState)
        return (Entry(identity: identity, sidecar: finished, files: files, isFiled: true), network)
    }
}
