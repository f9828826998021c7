import Foundation

/// Small geometry files written by hand-checked recipes.
public enum Fixtures {
    /// An ASCII STL with `triangles` facets whose vertices span [0, triangles] on x.
    public static func asciiSTL(triangles: Int = 2) -> String {
        var text = "solid demo part\n"
        for i in 0..<triangles {
            text += """
                facet normal 0 0 1
                  outer loop
                    vertex \(i) 0 0
                    vertex \(i + 1) 0 0
                    vertex \(i) 1 -2.5
                  endloop
                endfacet

                """
        }
        return text + "endsolid demo part\n"
    }

    /// A binary STL: 80-byte header, little-endian count, 50 bytes per triangle.
    public static func binarySTL(triangles: [[Float]], header: String = "binary stl") -> Data {
        var data = Data(header.utf8.prefix(80))
        data.append(Data(count: 80 - data.count))
        var count = UInt32(triangles.count).littleEndian
        data.append(Data(bytes: &count, count: 4))
        for triangle in triangles {
            var values: [Float] = [0, 0, 1] + triangle
            precondition(values.count == 12)
            for i in values.indices { values[i] = Float(bitPattern: values[i].bitPattern.littleEndian) }
            values.withUnsafeBytes { data.append(contentsOf: $0) }
            data.append(contentsOf: [0, 0])
        }
        return data
    }

    /// The VTK-written fixtures (Tests/Fixtures/vtk).
    public static let vtkDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/vtk").path

    /// Copies the VTK-written manifest run.vtm and its two blocks into `folder`; returns the manifest's path.
    public static func copyRunManifest(into folder: String) throws -> String {
        try FileManager.default.createDirectory(atPath: folder + "/run", withIntermediateDirectories: true)
        for name in ["run.vtm", "run/run_0.vtu", "run/run_1.vtu"] {
            try FileManager.default.copyItem(atPath: vtkDirectory + "/" + name, toPath: folder + "/" + name)
        }
        return folder + "/run.vtm"
    }

    public static let step = """
        ISO-10303-21;
        HEADER;
        FILE_DESCRIPTION(('demo'),'2;1');
        FILE_NAME('demo.step','2026-11-22T00:00:00',(''),(''),'','','');
        FILE_SCHEMA(('AUTOMOTIVE_DESIGN'));
        ENDSEC;
        DATA;
        ENDSEC;
        END-ISO-10303-21;

        """
}

/// Where a store made by this lake keeps a blob's file (`BlobLayout.oneLevel`), for tests that
/// damage, remove or plant blob files.
public enum BlobFiles {
    public static func path(store: String, id: String) -> String {
        "\(store)/blobs/\(id.prefix(2))/\(id)"
    }
}
