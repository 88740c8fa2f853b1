/// Feature maps of the probed image (`feature_maps`, added by `v4_feature_maps`).
extension ExperimentDatabase {
    /// Whether the file has the `feature_maps` table (always after opening for writing; a file
    /// opened read-only keeps the schema it was written with).
    var hasFeatureMapsTable: Bool {
        (try? connection.scalar("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'feature_maps'")) != nil
    }

    /// Inserts (or replaces) feature-map rows for `runID`, inside the caller's transaction.
    func insertFeatureMaps(_ records: [FeatureMapRecord], runID: Int64) throws {
        guard !records.isEmpty else { return }
        let insert = try connection.prepare("""
            INSERT OR REPLACE INTO feature_maps (run_id, layer, image, channels, height, width, minimum, maximum, maps)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
            """)
        for record in records {
            try insert.bind(Self.featureMapValues(record, runID: runID))
            while try insert.step() {}
        }
    }

    static func featureMapValues(_ record: FeatureMapRecord, runID: Int64) -> [SQLValue] {
        [.integer(runID), .text(record.layer), SQLValue(record.image), SQLValue(record.channels), SQLValue(record.height),
         SQLValue(record.width), SQLValue(float32LittleEndian: record.minimum), SQLValue(float32LittleEndian: record.maximum),
         .blob(record.codes)]
    }

    /// The stored feature maps of a run, in the order they were stored (the network's layer order);
    /// with `layers`, only those layers. Empty for a file written before `v4_feature_maps`.
    ///
    /// - Throws: ``FeatureProbeError`` when a row's BLOBs do not match its shape (the file was
    ///   changed outside the toolkit).
    public func featureMaps(runID: Int64, layers: Set<String>? = nil) throws -> [FeatureMapRecord] {
        guard hasFeatureMapsTable else { return [] }
        let rows = try connection.query("""
            SELECT layer, image, channels, height, width, minimum, maximum, maps FROM feature_maps
            WHERE run_id = ? ORDER BY rowid
            """, [.integer(runID)]).rows
        return try rows.compactMap { row in
            let layer = row[0].string ?? ""
            if let layers, !layers.contains(layer) { return nil }
            let (image, channels, height, width) = (row[1].int ?? -1, row[2].int ?? 0, row[3].int ?? 0, row[4].int ?? 0)
            let (minimum, maximum, codes) = (row[5].bytes ?? [], row[6].bytes ?? [], row[7].bytes ?? [])
            // The shape comes from the file: products that overflow are damage, not a trap.
            let (rangeBytes, rangeOverflow) = channels.multipliedReportingOverflow(by: 4)
            let (plane, planeOverflow) = height.multipliedReportingOverflow(by: width)
            let (mapBytes, mapOverflow) = channels.multipliedReportingOverflow(by: plane)
            guard image >= 0, channels >= 1, height >= 1, width >= 1, !rangeOverflow, !planeOverflow, !mapOverflow,
                  minimum.count == rangeBytes, maximum.count == rangeBytes, codes.count == mapBytes else {
                throw FeatureProbeError("The feature maps of run \(runID), layer '\(layer)', image \(image) in \(path) are damaged: \(codes.count) map bytes and \(minimum.count)/\(maximum.count) range bytes for \(channels) x \(height) x \(width) (expected C x H x W and 4 x C). The database was changed outside the toolkit.")
            }
            return FeatureMapRecord(runID: runID, layer: layer, image: image, channels: channels, height: height, width: width,
                                    minimum: SQLValue.decodeFloat32LittleEndian(minimum),
                                    maximum: SQLValue.decodeFloat32LittleEndian(maximum), codes: codes)
        }
    }
}
