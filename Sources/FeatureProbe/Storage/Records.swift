/// The rows of the experiment database as Swift values (docs/SCHEMA.md has the tables).

/// Where a run's measured weights came from (the `weights_source` column).
public enum WeightsSource: String, Codable, Sendable, CaseIterable {
    /// Trained by the sweep (or reused from the checkpoint store).
    case trained
    /// Loaded from a weights file given by the user.
    case file
    /// Seeded random initialisation, untrained.
    case random
}

/// The life of one configuration in a sweep.
public enum RunStatus: String, Codable, Sendable, CaseIterable {
    case pending, running, done, failed, skipped
}

/// A sweep: one invocation's grid of configurations, found again by name to resume.
public struct SweepRecord: Codable, Sendable, Equatable {
    public var id: Int64
    public var name: String
    public var commandLine: String
    public var createdAt: String
}

/// One configuration of a sweep and, once done, what it measured.
public struct RunRecord: Codable, Sendable, Equatable {
    public var id: Int64
    public var sweepID: Int64
    public var model: String
    /// `vanilla` or `spconv`.
    public var variant: String
    /// SPConv split ratio and groups; nil for the vanilla baseline.
    public var ratio: Double?
    public var groups: Int?
    public var inChannels: Int
    public var classes: Int
    public var inputSize: Int
    public var weightsPath: String?
    public var weightsSHA256: String?
    /// The input description (`fashion-mnist`, `assets/images`, `synthetic:64`, ...).
    public var dataset: String
    public var images: Int
    public var status: RunStatus
    /// Why the run failed or was skipped.
    public var reason: String?
    public var params: Int?
    public var macs: Int?
    public var flops: Int?
    public var latencyMS: Double?
    public var batch: Int
    public var threads: Int
    /// Top-1 test accuracy as a fraction in [0, 1], when the sweep trained the run.
    public var accuracy: Double?
    /// Epochs the sweep trained the run for before measuring; nil when it did not train it.
    public var trainEpochs: Int? = nil
    /// Wall time of that training, in seconds.
    public var trainSeconds: Double? = nil
    /// The seed the sweep trained the run with; nil when it did not train it (or, in a database
    /// from before `v3_provenance_seeds_epochs`, did not record it).
    public var trainSeed: UInt64? = nil
    /// Where the measured weights came from.
    public var weightsSource: WeightsSource = .random
    /// The seed of the initial weights (`random` runs: the network's seed; `trained`: the
    /// training seed); nil for `file` runs.
    public var weightsSeed: UInt64? = nil
    /// The checkpoint store key of a `trained` run's weights.
    public var storeKey: String? = nil
    /// The SHA-256 of a `trained` run's checkpoint file.
    public var checkpointSHA256: String? = nil
    public var startedAt: String?
    public var finishedAt: String?
    public var toolVersion: String
    public var gitCommit: String?
    public var host: String?
}

/// The redundancy summary of one layer in one run, under one metric (the columns of summary.csv).
public struct LayerMetricRecord: Codable, Sendable, Equatable {
    public var runID: Int64
    public var layer: String
    public var channels: Int
    public var images: Int
    public var metric: String
    public var meanAbsOffDiagonal: Double
    public var fractionAboveThreshold: Double
    public var threshold: Double
    public var duplicates: Int
    public var dead: Int
    public var clusters: Int
    public var effectiveRank: Double
    public var suggestedRatio: Double
}

/// A stored C x C similarity matrix (float32 little-endian BLOB in the database).
public struct SimilarityRecord: Sendable, Equatable {
    /// The most channels a stored matrix is read for (8192: a 256 MB matrix; the zoo's widest
    /// layer has 2048).
    public static let maximumChannels = 8192
    public var runID: Int64
    public var layer: String
    public var metric: String
    public var channels: Int
    public var values: [Float]
}

/// What identifies one configuration of a sweep (the UNIQUE key of `runs` within a sweep: every
/// field but `threads`), plus the thread count it runs with. The vanilla baseline has no ratio or
/// groups. A sweep resumed with another thread count (another `--jobs`) finds its rows again.
/// `trainEpochs` set means the sweep trains the freshly built network for that many epochs before
/// measuring it (and records its accuracy); a trained and an untrained run are different runs.
public struct RunConfiguration: Hashable, Codable, Sendable {
    public var model: String
    public var variant: String
    public var ratio: Double?
    public var groups: Int?
    public var inChannels: Int
    public var classes: Int
    public var inputSize: Int
    public var weightsPath: String?
    public var weightsSHA256: String?
    public var dataset: String
    public var images: Int
    public var batch: Int
    public var threads: Int
    /// Epochs to train before measuring; nil: measure the weights as built or loaded.
    public var trainEpochs: Int?
    /// The training seed of a trained configuration (one run per seed); nil for an untrained one
    /// (and for a trained row of an old database that did not record it, which trains with 0).
    public var trainSeed: UInt64?

    public init(model: String, variant: String, ratio: Double?, groups: Int?, inChannels: Int, classes: Int,
                inputSize: Int, weightsPath: String? = nil, weightsSHA256: String? = nil, dataset: String,
                images: Int, batch: Int, threads: Int, trainEpochs: Int? = nil, trainSeed: UInt64? = nil) {
        self.model = model
        self.variant = variant
        self.ratio = ratio
        self.groups = groups
        self.inChannels = inChannels
        self.classes = classes
        self.inputSize = inputSize
        self.weightsPath = weightsPath
        self.weightsSHA256 = weightsSHA256
        self.dataset = dataset
        self.images = images
        self.batch = batch
        self.threads = threads
        self.trainEpochs = trainEpochs
        self.trainSeed = trainEpochs == nil ? nil : trainSeed
    }

    /// Where the measured weights come from: trained when the configuration trains, a file when
    /// it names one, else the seeded random initialisation (seed 0).
    public var weightsSource: WeightsSource {
        trainEpochs != nil ? .trained : weightsPath != nil ? .file : .random
    }

    /// The seed of the initial weights: the training seed, 0 for untrained random weights, nil for a file.
    public var weightsSeed: UInt64? {
        switch weightsSource {
        case .trained: return trainSeed
        case .random: return 0
        case .file: return nil
        }
    }

    /// This configuration with the thread count left out, for comparing identities.
    public var identity: RunConfiguration {
        var copy = self
        copy.threads = 0
        return copy
    }
}
