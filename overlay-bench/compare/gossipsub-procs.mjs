// The comparison job on js-libp2p gossipsub with every node in a process of its own (the parent
// only coordinates and measures). Same settings, topology, payload and output as gossipsub.mjs
// (common.mjs); send times come from the shared wall clock (performance.timeOrigin + now), so
// latencies compare across processes.
import { fork } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { multiaddr } from '@multiformats/multiaddr'
import { TOPIC, parseArgs, createNode, countCopies, dialTargets, publishFor, payload, loBytes, report } from './common.mjs'

const a = parseArgs(process.argv.slice(2))
const wallNs = () => BigInt(Math.round((performance.timeOrigin + performance.now()) * 1e6))

if (a.raw.child !== undefined) await child()
else await parent()

async function child () {
  const node = await createNode(a.sign)
  const gs = node.services.pubsub
  let copies = 0
  countCopies(node, () => copies++)
  let measuring = false
  let delivered = 0
  const latencies = []
  const seq = { value: 0 }
  gs.subscribe(TOPIC)
  gs.addEventListener('message', (evt) => {
    if (evt.detail.topic !== TOPIC) return
    const d = payload(evt.detail.data)
    if (d[16] !== 1 || !measuring) return
    latencies.push(Number(wallNs() - d.readBigInt64BE(0)) / 1e6)
    delivered++
  })
  process.on('message', async (m) => {
    if (m.type === 'dial') {
      for (const addr of m.addrs) await node.dial(multiaddr(addr))
      process.send({ type: 'dialled' })
    } else if (m.type === 'measure') {
      measuring = m.on
      if (m.on) { copies = 0; delivered = 0; latencies.length = 0 }
      process.send({ type: 'ok' })
    } else if (m.type === 'publish') {
      const sent = await publishFor(gs, { seconds: m.seconds, rate: m.rate, measured: m.measured, size: m.size, clockNs: wallNs, seq })
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
  const N = a.nodes
  const kids = []
  const waiters = []
  const next = (k, type) => new Promise((resolve) => waiters.push({ k, type, resolve }))
  const self = fileURLToPath(import.meta.url)
  for (let i = 0; i < N; i++) {
    const c = fork(self, ['--child', String(i)], { execArgv: ['--import', './polyfill.mjs'] })
    c.on('message', (m) => {
      const w = waiters.findIndex((x) => x.k === i && x.type === m.type)
      if (w >= 0) waiters.splice(w, 1)[0].resolve(m)
    })
    kids.push(c)
  }
  const ask = (i, type, msg) => { const p = next(i, type); kids[i].send(msg); return p }
  const all = (type, msg) => Promise.all(kids.map((c, i) => ask(i, type, msg)))
  const addrs = await Promise.all(kids.map((c, i) => next(i, 'addr').then((m) => m.addr)))
  for (let i = 1; i < N; i++) await ask(i, 'dialled', { type: 'dial', addrs: dialTargets(i, a.degree).map((t) => addrs[t]) })
  await new Promise((resolve) => setTimeout(resolve, a.warmup * 1000))
  await ask(0, 'published', { type: 'publish', seconds: 2, rate: Math.min(a.rate, 500), measured: false, size: a.size })
  await new Promise((resolve) => setTimeout(resolve, 1000))
  await all('ok', { type: 'measure', on: true })
  const cpu0 = (await all('stats', { type: 'stats' })).reduce((x, s) => x + s.cpu, 0)
  const lo0 = loBytes()
  const t0 = process.hrtime.bigint()
  const published = (await ask(0, 'published', { type: 'publish', seconds: a.duration, rate: a.rate, measured: true, size: a.size })).sent
  // Settle: until everyone has everything, or nothing moved for 2 s.
  let last = -1
  let lastChange = Date.now()
  let stats
  while (true) {
    stats = await all('stats', { type: 'stats' })
    const total = stats.slice(1).reduce((x, s) => x + s.delivered, 0)
    if (total >= published * (N - 1) || Date.now() - lastChange >= 2000) break
    if (total !== last) { last = total; lastChange = Date.now() }
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  console.log(report({
    system: 'js-libp2p gossipsub 14.1.2 (libp2p 2.10.0), a process per node',
    settings: (a.sign ? 'StrictSign' : 'StrictNoSign') + ', floodPublish=false, D=6/Dlo=4/Dhi=12, IPColocationFactorWeight=0, a process per node',
    a, published, delivered: stats.slice(1).map((s) => s.delivered), copies: stats.reduce((x, s) => x + s.copies, 0),
    latencies: stats.slice(1).flatMap((s) => s.latencies), elapsed: Number(process.hrtime.bigint() - t0) / 1e9,
    lo: loBytes() - lo0, cpuS: stats.reduce((x, s) => x + s.cpu, 0) - cpu0
  }))
  await Promise.all(kids.map((c) => new Promise((resolve) => { c.on('exit', resolve); c.send({ type: 'stop' }) })))
  process.exit(0)
}
