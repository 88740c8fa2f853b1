import Testing
@testable import FeatureProbe
import SPConvLab

@Suite struct LayerSelectionTests {
    let resnet = try! Network(ModelSpec(.resnet20, variant: .spconv(.init())))
    let vgg = try! Network(ModelSpec(.vgg16, variant: .spconv(.init())))

    @Test func exactPathsKeepNetworkOrder() throws {
        let s = try LayerSelection("layer2.1, layer1.0.conv1, layer1.0.conv1.gwc", in: resnet)
        #expect(s.paths == ["layer1.0.conv1", "layer1.0.conv1.gwc", "layer2.1"])
    }

    @Test func globsMatchWithinAndAcrossComponents() throws {
        let conv2s = try LayerSelection("layer*.*.conv2", in: resnet).paths
        #expect(conv2s.count == 9)
        #expect(conv2s.first == "layer1.0.conv2" && conv2s.last == "layer3.2.conv2")
        let gwcs = try LayerSelection("layer2.**.gwc", in: resnet).paths
        #expect(gwcs == ["layer2.0.conv1.gwc", "layer2.0.conv2.gwc", "layer2.1.conv1.gwc", "layer2.1.conv2.gwc",
                         "layer2.2.conv1.gwc", "layer2.2.conv2.gwc"])
        #expect(LayerSelection.glob("layer?.0", matches: "layer1.0"))
        #expect(!LayerSelection.glob("layer*", matches: "layer1.0"))
        #expect(LayerSelection.glob("layer**", matches: "layer1.0"))
    }

    @Test func namedSets() throws {
        // resnet20: the stem, 18 SPConv layers and 2 projection shortcuts; no convs inside SPConv.
        let convs = try LayerSelection("convs", in: resnet).paths
        #expect(convs.count == 1 + 18 + 2)
        #expect(convs.contains("conv1") && convs.contains("layer2.0.downsample.0") && !convs.contains("layer1.0.conv1.gwc"))
        #expect(try LayerSelection("blocks", in: resnet).paths.count == 9)
        #expect(try LayerSelection("blocks", in: vgg).paths == ["features.6", "features.13", "features.23", "features.33", "features.43"])
        #expect(try LayerSelection("convs", in: vgg).paths.count == 13)
        #expect(try LayerSelection("all", in: resnet).paths == resnet.modulePaths)
    }

    @Test func unknownPathListsTheNearestValidOnes() {
        #expect {
            try LayerSelection("layer1.0.conv3", in: resnet)
        } throws: { error in
            let message = (error as? FeatureProbeError)?.message ?? ""
            return message.contains("'layer1.0.conv3'") && message.contains("layer1.0.conv1")
        }
        #expect(throws: FeatureProbeError.self) { try LayerSelection("layer9.*", in: resnet) }
        #expect(throws: FeatureProbeError.self) { try LayerSelection(" , ", in: resnet) }
    }

    @Test func editDistanceByHand() {
        #expect(LayerSelection.editDistance("kitten", "sitting") == 3)
        #expect(LayerSelection.editDistance("", "abc") == 3)
        #expect(LayerSelection.editDistance("abc", "abc") == 0)
    }
}
