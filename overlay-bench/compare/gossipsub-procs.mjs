// The comparison job on js-libp2p gossipsub with every node in a process of its own (the parent
// only coordinates and measures). Same settings, topology, payload and output as gossipsub.mjs;
// send timestamps come from the shared wall clock (performance.timeOrigin + now), so latencies
// can be compared across processes.
import { fork } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const args = Object.fromEntries(process.argv.slice(2).reduce((acc, a, i, all) => {
  if (a.startsWith('--')) acc.push([a.slice(2), all[i + 1]])
  return acc
}, []))
const TOPIC = 'compare'

if (args.child !== undefined) {
  await child()
} else {
  await parent()
}

function wallNs () {
  return BigInt(Math.round((performance.timeOrigin + performance.now()) * 1e6))
}

async function child () {
  const { createLibp2p } = await import('libp2p')
  const { tcp } = await import('@libp2p/tcp')
  const { noise } = await import('@chainsafe/libp2p-noise')
  const { yamux } = await import('@chainsafe/libp2p-yamux')
  const { identify } = await import('@libp2p/identify')
  const { gossipsub } = await import('@chainsafe/libp2p-gossipsub')
  const node = await createLibp2p({
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionManager: { inboundConnectionThreshold: 100000, maxConnections: 1000 },
    connectionMonitor: { enabled: false },
    services: {
      identify: identify(),
      pubsub: gossipsub({
        globalSignaturePolicy: 'StrictNoSign',
        msgIdFn: (msg) => msg.data.subarray(8, 16),
        fastMsgIdFn: (msg) => Buffer.from(msg.data.subarray(8, 16)).toString('hex'),
        floodPublish: false,
        allowPublishToZeroTopicPeers: true,
        emitSelf: false,
        scoreParams: { IPColocationFactorWeight: 0 }
      })
    }
  })
  const gs = node.services.pubsub
  let copies = 0
  const orig = gs.handleReceivedMessage.bind(gs)
  gs.handleReceivedMessage = async (from, rpcMsg) => {
    if (rpcMsg.topic === TOPIC) copies++
    return orig(from, rpcMsg)
  }
  let measuring = false
  let delivered = 0
  const latencies = []
  gs.subscribe(TOPIC)
  gs.addEventListener('message', (evt) => {
    if (evt.detail.topic !== TOPIC) return
    const raw = evt.detail.data
    const d = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength)
    if (d[16] !== 1 || !measuring) return
    latencies.push(Number(wallNs() - d.readBigInt64BE(0)) / 1e6)
    delivered++
  })
  let seq = 0
  async function publishFor (seconds, rate, measured, size) {
    const start = process.hrtime.bigint()
    const total = Math.floor(seconds * rate)
    let sent = 0
    while (sent < total) {
      const due = Math.min(total, Math.floor(Number(process.hrtime.bigint() - start) / 1e9 * rate))
      while (sent < due) {
        const buf = Buffer.alloc(size)
        buf.writeBigInt64BE(wallNs(), 0)
        buf.writeBigInt64BE(BigInt(++seq), 8)
        buf[16] = measured ? 1 : 0
        gs.publish(TOPIC, buf).catch(() => {})
        sent++
      }
      await new Promise((resolve) => setImmediate(resolve))
    }
    return sent
  }
  process.on('message', async (m) => {
    if (m.type === 'dial') {
      for (const a of m.addrs) await node.dial((await import('@multiformats/multiaddr')).multiaddr(a))
      process.send({ type: 'dialled' })
    } else if (m.type === 'measure') {
      measuring = m.on
      if (m.on) { copies = 0; delivered = 0; latencies.length = 0 }
      process.send({ type: 'ok' })
    } else if (m.type === 'publish') {
      const sent = await publishFor(m.seconds, m.rate, m.measured, m.size)
      process.send({ type: 'published', sent })
    } else if (m.type === 'stats') {
      const cpu = process.cpuUsage()
      process.send({ type: 'stats', delivered, copies, latencies, cpu: (cpu.user + cpu.system) / 1e6 })
    } else if (m.type === 'stop') {
      await node.stop()
      process.exit(0)
    }
  })
  process.send({ type: 'addr', addr: node.getMultiaddrs()[0].toString() })
}

async function parent () {
  const N = Number(args.nodes ?? 20)
  const RATE = Number(args.rate ?? 1000)
  const DURATION = Number(args.duration ?? 8)
  const SIZE = Number(args.size ?? 100)
  const DEGREE = Number(args.degree ?? 4)
  const WARMUP = Number(args.warmup ?? 4)
  const self = fileURLToPath(import.meta.url)
  const kids = []
  const waiters = []
  function next (k, type) {
    return new Promise((resolve) => waiters.push({ k, type, resolve }))
  }
  for (let i = 0; i < N; i++) {
    const c = fork(self, ['--child', String(i)], { execArgv: ['--import', './polyfill.mjs'] })
    c.on('message', (m) => {
      const w = waiters.findIndex((x) => x.k === i && x.type === m.type)
      if (w >= 0) waiters.splice(w, 1)[0].resolve(m)
    })
    kids.push(c)
  }
  const addrs = await Promise.all(kids.map((c, i) => next(i, 'addr').then((m) => m.addr)))
  for (let i = 1; i < N; i++) {
    const targets = new Set([i - 1])
    while (targets.size < Math.min(DEGREE, i)) targets.add(Math.floor(Math.random() * i))
    const p = next(i, 'dialled')
    kids[i].send({ type: 'dial', addrs: [...targets].map((t) => addrs[t]) })
    await p
  }
  const all = (type, msg) => Promise.all(kids.map((c, i) => { const p = next(i, type); c.send(msg); return p }))
  await new Promise((resolve) => setTimeout(resolve, WARMUP * 1000))
  let p = next(0, 'published')
  kids[0].send({ type: 'publish', seconds: 2, rate: Math.min(RATE, 500), measured: false, size: SIZE })
  await p
  await new Promise((resolve) => setTimeout(resolve, 1000))
  await all('ok', { type: 'measure', on: true })
  const cpu0 = (await all('stats', { type: 'stats' })).reduce((a, s) => a + s.cpu, 0)
  const lo0 = loBytes()
  const t0 = process.hrtime.bigint()
  p = next(0, 'published')
  kids[0].send({ type: 'publish', seconds: DURATION, rate: RATE, measured: true, size: SIZE })
  const published = (await p).sent
  let last = -1
  let lastChange = Date.now()
  let stats
  while (true) {
    stats = await all('stats', { type: 'stats' })
    const total = stats.slice(1).reduce((a, s) => a + s.delivered, 0)
    if (total >= published * (N - 1) || Date.now() - lastChange >= 2000) break
    if (total !== last) { last = total; lastChange = Date.now() }
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  const elapsed = Number(process.hrtime.bigint() - t0) / 1e9
  const lo = loBytes() - lo0
  const cpu = stats.reduce((a, s) => a + s.cpu, 0) - cpu0
  const totalDelivered = stats.slice(1).reduce((a, s) => a + s.delivered, 0)
  const copies = stats.slice(1).reduce((a, s) => a + s.copies, 0)
  const latencies = stats.slice(1).flatMap((s) => s.latencies).sort((a, b) => a - b)
  const pct = (q) => latencies.length ? latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] : null
  const completeness = stats.slice(1).map((s) => Math.min(1, s.delivered / published))
  console.log(JSON.stringify({
    system: 'js-libp2p gossipsub 14.1.2 (libp2p 2.10.0), a process per node',
    nodes: N, rate: RATE, size: SIZE, duration_s: DURATION, published,
    completeness_min: Math.min(...completeness),
    latency_ms_p50: pct(0.5), latency_ms_p99: pct(0.99), latency_ms_max: latencies[latencies.length - 1] ?? null,
    duplicates_per_delivery: totalDelivered ? (copies - totalDelivered) / totalDelivered : null,
    delivered_per_s: totalDelivered / elapsed,
    wire_bytes_per_delivery: totalDelivered ? lo / totalDelivered : null,
    cpu_s_per_1000_deliveries: totalDelivered ? cpu / (totalDelivered / 1000) : null,
    settings: 'StrictNoSign, floodPublish=false, D=6/Dlo=4/Dhi=12, IPColocationFactorWeight=0, a process per node'
  }))
  await Promise.all(kids.map((c) => new Promise((resolve) => { c.on('exit', resolve); c.send({ type: 'stop' }) })))
  process.exit(0)
}

function loBytes () {
  for (const line of readFileSync('/proc/net/dev', 'utf8').split('\n')) {
    const m = line.trim().match(/^lo:\s*(\d+)/)
    if (m) return Number(m[1])
  }
  return 0
}
