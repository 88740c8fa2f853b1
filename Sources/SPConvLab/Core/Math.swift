#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

@inline(__always) package func _log(_ x: Double) -> Double { log(x) }
@inline(__always) package func _cos(_ x: Double) -> Double { cos(x) }
@inline(__always) package func Foundation_exp(_ x: Double) -> Double { exp(x) }
@inline(__always) package func expf32(_ x: Float) -> Float { expf(x) }
