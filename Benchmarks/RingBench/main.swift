#if canImport(Glibc)
import Glibc
#endif
import Foundation
import BenchSupport
import CuoheRuntime

// cuohe-ring-bench: the SPSC ring between two threads against a mutex-protected queue, in the same
// run. Build and run in release mode:
//   swift run -c release cuohe-ring-bench [--messages N] [--runs R]
// Throughput: the producer publishes N 16-byte messages in batches of up to 64 as fast as the
// consumer drains them. Hop latency: one message at a time, stamped by the producer with the
// monotonic clock and read by the consumer, at a paced rate; percentiles over all messages.

struct Message: BitwiseCopyable {
    var seq: UInt64
    var stampNanos: Int64
}


/// The comparison: a bounded queue under one mutex, with a condition variable for the consumer.
final class MutexQueue: @unchecked Sendable {
    let capacity: Int
    var storage: [Message]
    var head = 0
    var count = 0
    var mutex = pthread_mutex_t()
    var notEmpty = pthread_cond_t()
    var notFull = pthread_cond_t()

    init(capacity: Int) {
        self.capacity = capacity
        storage = [Message](repeating: Message(seq: 0, stampNanos: 0), count: capacity)
        pthread_mutex_init(&mutex, nil)
        pthread_cond_init(&notEmpty, nil)
        pthread_cond_init(&notFull, nil)
    }

    func publish(_ batch: UnsafeBufferPointer<Message>) {
        var done = 0
        pthread_mutex_lock(&mutex)
        while done < batch.count {
            while count == capacity { pthread_cond_wait(&notFull, &mutex) }
            while done < batch.count && count < capacity {
                storage[(head + count) % capacity] = batch[done]
                count += 1
                done += 1
            }
            pthread_cond_signal(&notEmpty)
        }
        pthread_mutex_unlock(&mutex)
    }

    func take(into out: UnsafeMutableBufferPointer<Message>) -> Int {
        pthread_mutex_lock(&mutex)
        while count == 0 { pthread_cond_wait(&notEmpty, &mutex) }
        let n = min(count, out.count)
        for i in 0..<n { out[i] = storage[(head + i) % capacity] }
        head = (head + n) % capacity
        count -= n
        pthread_cond_signal(&notFull)
        pthread_mutex_unlock(&mutex)
        return n
    }
}

protocol Channel: AnyObject, Sendable {
    func send(_ batch: UnsafeBufferPointer<Message>)
    func receive(into out: UnsafeMutableBufferPointer<Message>) -> Int
}

final class RingChannel: Channel, @unchecked Sendable {
    let ring: Ring<Message>
    init(wait: WaitStrategy) { ring = Ring(minimumCapacity: 4096, wait: wait) }
    func send(_ batch: UnsafeBufferPointer<Message>) { ring.publish(batch) }
    func receive(into out: UnsafeMutableBufferPointer<Message>) -> Int { ring.take(into: out) }
}

final class MutexChannel: Channel, @unchecked Sendable {
    let queue = MutexQueue(capacity: 4096)
    func send(_ batch: UnsafeBufferPointer<Message>) { queue.publish(batch) }
    func receive(into out: UnsafeMutableBufferPointer<Message>) -> Int { queue.take(into: out) }
}

/// Messages per second through `channel`, batches of up to 64.
func throughput(_ channel: Channel, messages: Int) -> Double {
    let done = DispatchSemaphore(value: 0)
    let start = nowNanos()
    Thread {
        var batch = [Message](repeating: Message(seq: 0, stampNanos: 0), count: 64)
        var next = 0
        while next < messages {
            let n = min(64, messages - next)
            for i in 0..<n { batch[i].seq = UInt64(next + i) }
            batch.withUnsafeBufferPointer { channel.send(UnsafeBufferPointer(rebasing: $0[0..<n])) }
            next += n
        }
        done.signal()
    }.start()
    var received = 0
    var out = [Message](repeating: Message(seq: 0, stampNanos: 0), count: 256)
    var expected: UInt64 = 0
    while received < messages {
        let n = out.withUnsafeMutableBufferPointer { channel.receive(into: $0) }
        for i in 0..<n { precondition(out[i].seq == expected, "lost or reordered message"); expected += 1 }
        received += n
    }
    let elapsed = nowNanos() - start
    done.wait()
    return Double(messages) / (Double(elapsed) / 1e9)
}

/// Hop latencies (ns) of `messages` single messages sent every `gapNanos`.
func latencies(_ channel: Channel, messages: Int, gapNanos: Int64) -> [Int64] {
    let done = DispatchSemaphore(value: 0)
    Thread {
        var next = nowNanos()
        for i in 0..<messages {
            while nowNanos() < next {}
            var m = Message(seq: UInt64(i), stampNanos: nowNanos())
            withUnsafePointer(to: &m) { channel.send(UnsafeBufferPointer(start: $0, count: 1)) }
            next += gapNanos
        }
        done.signal()
    }.start()
    var samples: [Int64] = []
    samples.reserveCapacity(messages)
    var out = [Message](repeating: Message(seq: 0, stampNanos: 0), count: 16)
    while samples.count < messages {
        let n = out.withUnsafeMutableBufferPointer { channel.receive(into: $0) }
        let now = nowNanos()
        for i in 0..<n { samples.append(now - out[i].stampNanos) }
    }
    done.wait()
    return samples.sorted()
}


func median(_ xs: [Double]) -> Double { xs.sorted()[xs.count / 2] }

var messages = 20_000_000
var runs = 3
var args = CommandLine.arguments.dropFirst()
while let a = args.popFirst() {
    guard let v = args.popFirst(), let n = Int(v), n > 0 else {
        print("usage: cuohe-ring-bench [--messages N] [--runs R]")
        exit(2)
    }
    switch a {
    case "--messages": messages = n
    case "--runs": runs = n
    default:
        print("unknown option \(a)")
        exit(2)
    }
}

var results: [String: Double] = [:]
let subjects: [(String, () -> Channel)] = [
    ("ring_busy_spin", { RingChannel(wait: .busySpin) }),
    ("ring_spin_yield", { RingChannel(wait: .standard) }),
    ("ring_blocking", { RingChannel(wait: .blocking) }),
    ("mutex_queue", { MutexChannel() }),
]
for (name, make) in subjects {
    var rates: [Double] = []
    for _ in 0..<runs { rates.append(throughput(make(), messages: messages)) }
    results[name] = median(rates)
    print("\(name): \(Int(median(rates))) msgs/s (runs: \(rates.map { String(Int($0)) }.joined(separator: " ")))")
}
for (name, make) in subjects {
    let s = latencies(make(), messages: 200_000, gapNanos: 10_000)
    print("\(name) hop latency at 100k msgs/s: p50=\(percentile(s, 0.5))ns p99=\(percentile(s, 0.99))ns "
          + "p99.9=\(percentile(s, 0.999))ns max=\(s.last!)ns")
}
print("bench ring busy_spin_msgs_per_sec=\(Int(results["ring_busy_spin"]!)) "
      + "spin_yield_msgs_per_sec=\(Int(results["ring_spin_yield"]!)) "
      + "blocking_msgs_per_sec=\(Int(results["ring_blocking"]!)) mutex_queue_msgs_per_sec=\(Int(results["mutex_queue"]!))")
