// The layers below SPConvLab are part of its API: `import SPConvLab` brings in the tensors and
// errors (SPConvCore), the public kernels, codecs and engine settings (SPConvKernels), and the
// layers, the op graph and its interpreters (SPConvGraph).
@_exported import SPConvCore
@_exported import SPConvKernels
@_exported import SPConvGraph
