// The layers below SPConvLab are part of its API: `import SPConvLab` brings in the tensors and
// errors (SPConvCore) and the public kernels, codecs and engine settings (SPConvKernels).
@_exported import SPConvCore
@_exported import SPConvKernels
