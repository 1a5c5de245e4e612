/** One metric family in the Prometheus text exposition format (version 0.0.4). */
export type MetricFamily = {
  readonly name: string
  readonly help: string
  readonly type: 'counter' | 'gauge'
  readonly samples: readonly { readonly labels?: Readonly<Record<string, string>>, readonly value: number }[]
}

function escapeLabel (v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"')
}

/** Renders metric families as Prometheus text. */
export function renderPrometheus (families: readonly MetricFamily[]): string {
  const out: string[] = []
  for (const f of families) {
    out.push(`# HELP ${f.name} ${f.help}`, `# TYPE ${f.name} ${f.type}`)
    for (const s of f.samples) {
      const labels = s.labels === undefined ? '' : '{' + Object.entries(s.labels).map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(',') + '}'
      out.push(`${f.name}${labels} ${Number.isFinite(s.value) ? s.value : 0}`)
    }
  }
  return out.join('\n') + '\n'
}

/** Counters of a service, turned into one family per counter: anvil_<service>_<counter>. */
export function counterFamilies (service: string, stats: Readonly<Record<string, number>>, gauges: readonly string[] = []): MetricFamily[] {
  return Object.entries(stats).map(([key, value]) => {
    const snake = key.replace(/[A-Z]/g, c => `_${c.toLowerCase()}`)
    const gauge = gauges.includes(key)
    return {
      name: `anvil_${service}_${snake}${gauge ? '' : '_total'}`,
      help: `${service} ${snake.replace(/_/g, ' ')}${gauge ? ' (current)' : ' since start'}`,
      type: gauge ? 'gauge' : 'counter',
      samples: [{ value }]
    }
  })
}
