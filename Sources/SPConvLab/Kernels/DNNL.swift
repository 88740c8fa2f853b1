import CDNNL
import CKernels
import Foundation
import SPConvCore
import Synchronization

/// The process-wide oneDNN CPU engine and stream.
///
/// oneDNN picks its instruction set (AVX-512, AVX2, SSE4.1) at run time from CPUID, so the build
/// assumes no particular CPU. Debian's oneDNN 2.6 threads with OpenMP; `setThreads` sets
/// the OpenMP thread count that every later primitive uses.
package final class DNNL: @unchecked Sendable {
    package static let shared = DNNL()

    package let engine: dnnl_engine_t
    package let stream: dnnl_stream_t
    /// Channel block of the fast path's feature maps: 16 where oneDNN runs AVX-512, else 8.
    package let channelBlock: Int
    /// oneDNN streams are not re-entrant: executions from several threads are serialised.
    package let executionLock = Mutex<Void>(())

    private init() {
        // Feature maps are allocated and freed on every layer; keep glibc from returning them to
        // the kernel (mmap/munmap and page faults per tensor) by serving them from the heap.
        mallopt(-3 /* M_MMAP_THRESHOLD */, 32 << 20)
        mallopt(-1 /* M_TRIM_THRESHOLD */, 1 << 30)
        // SPCONVLAB_MAX_ISA=avx2 holds oneDNN and our C kernels to AVX2 (tests use it to run the
        // narrower path).
        ck_select_engine_isa(2)
        switch Engine.isaLimit(ProcessInfo.processInfo.environment["SPCONVLAB_MAX_ISA"]).limit {
        case .avx2: dnnl_set_max_cpu_isa(dnnl_cpu_isa_avx2); ck_select_engine_isa(1)
        case .sse41: dnnl_set_max_cpu_isa(dnnl_cpu_isa_sse41); ck_select_engine_isa(0)
        case .none: break  // an unknown value is reported by Engine.environmentWarnings
        }
        var engine: dnnl_engine_t?
        var stream: dnnl_stream_t?
        guard dnnl_engine_create(&engine, dnnl_cpu, 0) == dnnl_success, let engine,
              dnnl_stream_create(&stream, engine, dnnl_stream_default_flags.rawValue) == dnnl_success, let stream
        else { fatalError("oneDNN could not create a CPU engine; is libdnnl2 installed?") }
        self.engine = engine
        self.stream = stream
        // oneDNN's ISA values are bit sets; avx512_core's own bit is 0x20 (avx512_core = avx2 | 0x20).
        let avx512Bit = dnnl_cpu_isa_avx512_core.rawValue & ~dnnl_cpu_isa_avx2.rawValue
        channelBlock = dnnl_get_effective_cpu_isa().rawValue & avx512Bit != 0 ? 16 : 8
    }

    /// The instruction set oneDNN dispatches to on this CPU (after any SPCONVLAB_MAX_ISA limit).
    package static var isaName: String {
        _ = shared
        if shared.channelBlock == 16 { return "avx512" }
        let isa = dnnl_get_effective_cpu_isa().rawValue
        return isa & dnnl_cpu_isa_avx2.rawValue == dnnl_cpu_isa_avx2.rawValue ? "avx2" : "isa 0x" + String(isa, radix: 16)
    }

    /// Sets the number of threads oneDNN (OpenMP) and OpenBLAS use from now on.
    package static func setThreads(_ count: Int) {
        omp_set_num_threads(Int32(count))
    }

    package static var maxThreads: Int { Int(omp_get_max_threads()) }

    /// Throws a backend error when a oneDNN call did not succeed.
    package static func check(_ status: dnnl_status_t, _ what: @autoclosure () -> String) throws {
        guard status == dnnl_success else {
            throw SPConvLabError(.backend, "oneDNN refused \(what()) (status \(status.rawValue)); this shape or setting is not supported by the oneDNN build on this machine.")
        }
    }
}

/// A oneDNN memory descriptor for a dense tensor.
package struct MemoryDescriptor {
    package var raw = dnnl_memory_desc_t()

    /// A plain descriptor with a format tag (`dnnl_nchw`, `dnnl_goihw`, `dnnl_a`, ...) or `dnnl_format_tag_any`.
    package init(_ dims: [Int], tag: dnnl_format_tag_t) throws {
        var d = dims.map(Int64.init)
        let status = withDims(&d) { dnnl_memory_desc_init_by_tag(&raw, Int32(dims.count), $0, dnnl_f32, tag) }
        try DNNL.check(status, "a memory descriptor for dims \(dims)")
    }

    /// A descriptor with explicit element strides (used to view a channel slice without a copy).
    package init(_ dims: [Int], strides: [Int]) throws {
        var d = dims.map(Int64.init)
        var s = strides.map(Int64.init)
        let status = withDims(&d) { dp in withDims(&s) { sp in
            dnnl_memory_desc_init_by_strides(&raw, Int32(dims.count), dp, dnnl_f32, sp)
        } }
        try DNNL.check(status, "a strided memory descriptor for dims \(dims)")
    }

    package init(raw: dnnl_memory_desc_t) { self.raw = raw }

    /// Bytes needed to hold a tensor in this layout (including any padding of blocked layouts).
    package var byteCount: Int { withUnsafePointer(to: raw) { dnnl_memory_desc_get_size($0) } }

    package func isEqual(to other: MemoryDescriptor) -> Bool {
        withUnsafePointer(to: raw) { a in withUnsafePointer(to: other.raw) { b in
            dnnl_memory_desc_equal(a, b) != 0
        } }
    }
}

/// Calls `body` with a pointer to the first element of a dims array, the C layout of `dnnl_dims_t`.
@inline(__always)
private func withDims<R>(_ dims: inout [Int64], _ body: (UnsafePointer<Int64>) -> R) -> R {
    if dims.isEmpty { dims = [0] }
    return dims.withUnsafeBufferPointer { body($0.baseAddress!) }
}

/// A created oneDNN primitive with its descriptor, executed on caller-owned memory.
package final class DNNLPrimitive: @unchecked Sendable {
    package let descriptor: dnnl_primitive_desc_t
    package let primitive: dnnl_primitive_t

    /// Creates the primitive from an op descriptor (for example a `dnnl_convolution_desc_t`).
    ///
    /// - Parameter hint: the forward primitive a backward one belongs to (oneDNN needs it to
    ///   pick matching layouts and algorithms).
    package init(opDescriptor: UnsafeRawPointer, attributes: dnnl_primitive_attr_t? = nil, hint: DNNLPrimitive? = nil,
         what: String) throws {
        var pd: dnnl_primitive_desc_t?
        try DNNL.check(dnnl_primitive_desc_create(&pd, opDescriptor, attributes, DNNL.shared.engine, hint?.descriptor), what)
        guard let pd else { throw SPConvLabError(.backend, "oneDNN returned no descriptor for \(what).") }
        var p: dnnl_primitive_t?
        let status = dnnl_primitive_create(&p, pd)
        guard status == dnnl_success, let p else {
            dnnl_primitive_desc_destroy(pd)
            try DNNL.check(status, what)
            throw SPConvLabError(.backend, "oneDNN returned no primitive for \(what).")
        }
        descriptor = pd
        primitive = p
    }

    /// Creates a reorder between two layouts of the same tensor.
    package init(reorderFrom source: MemoryDescriptor, to destination: MemoryDescriptor) throws {
        var pd: dnnl_primitive_desc_t?
        var s = source.raw, d = destination.raw
        let engine = DNNL.shared.engine
        try DNNL.check(dnnl_reorder_primitive_desc_create(&pd, &s, engine, &d, engine, nil), "a reorder")
        guard let pd else { throw SPConvLabError(.backend, "oneDNN returned no reorder descriptor.") }
        var p: dnnl_primitive_t?
        try DNNL.check(dnnl_primitive_create(&p, pd), "a reorder primitive")
        descriptor = pd
        primitive = p!
    }

    /// oneDNN's name of the implementation it chose (`jit:avx512_core`, `gemm:jit`, `ref:any`, ...).
    package var implementationName: String {
        var name: UnsafePointer<CChar>?
        guard dnnl_primitive_desc_query(descriptor, dnnl_query_impl_info_str, 0, &name) == dnnl_success, let name else { return "" }
        return String(cString: name)
    }

    deinit {
        for entry in memories { dnnl_memory_destroy(entry.memory) }
        dnnl_primitive_destroy(primitive)
        dnnl_primitive_desc_destroy(descriptor)
    }

    /// The layout the primitive chose for one of its arguments (`dnnl_query_weights_md`, ...).
    package func memoryDescriptor(_ query: dnnl_query_t, index: Int32 = 0) -> MemoryDescriptor {
        MemoryDescriptor(raw: dnnl_primitive_desc_query_md(descriptor, query, index).pointee)
    }

    /// One argument of an execution: which slot, its layout, and where its data is.
    package struct Argument {
        package var slot: Int32
        package var descriptor: MemoryDescriptor
        package var pointer: UnsafeMutableRawPointer
    }

    /// Executes synchronously on the shared stream.
    package func execute(_ arguments: [Argument]) throws {
        try execute(count: arguments.count) { arguments[$0] }
    }

    /// ``execute(_:)`` for up to four arguments without building an array: no heap allocation
    /// on this side of oneDNN (an `Argument` holds a whole memory descriptor, so even a
    /// temporary buffer of them would go to the heap).
    package func execute(_ a0: Argument, _ a1: Argument, _ a2: Argument? = nil, _ a3: Argument? = nil) throws {
        let count = a2 == nil ? 2 : a3 == nil ? 3 : 4
        precondition(a2 != nil || a3 == nil, "give the optional arguments in order")
        try execute(count: count) { index in index == 0 ? a0 : index == 1 ? a1 : index == 2 ? a2! : a3! }
    }

    /// Memory objects made for this primitive's arguments, reused with a new data handle on each
    /// execution (making them costs several heap allocations inside oneDNN). Only touched under
    /// `DNNL.shared.executionLock`, which every execution holds.
    private var memories: [(slot: Int32, descriptor: MemoryDescriptor, memory: dnnl_memory_t)] = []

    private func execute(count: Int, argument: (Int) -> Argument) throws {
        try DNNL.shared.executionLock.withLock { _ in
            try withUnsafeTemporaryAllocation(of: dnnl_exec_arg_t.self, capacity: count) { execArgs in
                for index in 0..<count {
                    let memory = try memory(for: argument(index))
                    execArgs.initializeElement(at: index, to: dnnl_exec_arg_t(arg: argument(index).slot, memory: memory))
                }
                try DNNL.check(dnnl_primitive_execute(primitive, DNNL.shared.stream, Int32(count), execArgs.baseAddress),
                               "an execution")
                try DNNL.check(dnnl_stream_wait(DNNL.shared.stream), "waiting for the stream")
            }
        }
    }

    /// The memory object of `argument`'s slot pointed at its data: the one kept from an earlier
    /// execution when its layout is the same, else a new one (kept for the next).
    private func memory(for argument: Argument) throws -> dnnl_memory_t {
        if let index = memories.firstIndex(where: { $0.slot == argument.slot }) {
            if memories[index].descriptor.isEqual(to: argument.descriptor) {
                try DNNL.check(dnnl_memory_set_data_handle_v2(memories[index].memory, argument.pointer, DNNL.shared.stream),
                               "setting a memory's data")
                return memories[index].memory
            }
            dnnl_memory_destroy(memories[index].memory)
            memories.remove(at: index)
        }
        var memory: dnnl_memory_t?
        var md = argument.descriptor.raw
        try DNNL.check(dnnl_memory_create(&memory, &md, DNNL.shared.engine, argument.pointer), "a memory object")
        guard let memory else { throw SPConvLabError(.backend, "oneDNN returned no memory object.") }
        memories.append((argument.slot, argument.descriptor, memory))
        return memory
    }
}

// DNNL_ARG_* are C macros that Swift does not import; their values from dnnl_types.h.
package enum DNNLArgument {
    package static let src: Int32 = 1
    package static let dst: Int32 = 17
    package static let weights: Int32 = 33
    package static let bias: Int32 = 41
    package static let mean: Int32 = 49
    package static let variance: Int32 = 50
    package static let scale: Int32 = 51
    package static let shift: Int32 = 52
    package static let src1: Int32 = 2
    package static let workspace: Int32 = 64
    package static let scratchpad: Int32 = 80
    package static let diffSource: Int32 = 129
    package static let diffDestination: Int32 = 145
    package static let diffWeights: Int32 = 161
    package static let diffBias: Int32 = 169
    package static let from: Int32 = 1
    package static let to: Int32 = 17
}
