/**
 * The config as a program writes it for the library (src/index.ts): the YAML file's shape, typed, so
 * an editor completes the keys and flags a typo. It is checked by the same `validate` as a file (a
 * bad value is refused with its field path and the reason); these types only describe what may be
 * written. docs/config.md has each key's default and meaning; validate.ts and its neighbours the rules.
 */

/** Milliseconds, or a string such as "250ms", "10s", "2m", "1h". */
export type DurationInput = number | string
/** Bytes, or a string such as "512k", "10m", "1g". */
export type SizeInput = number | string
/** "host:port", "[v6]:port", ":port", or a port number. */
export type AddressInput = string | number

export interface ListenTlsInput {
  certificates: { cert: string; key: string }[]
  min_version?: 'TLSv1.2' | 'TLSv1.3' | '1.2' | '1.3'
  ciphers?: string
  client_ca?: string
  client_auth?: 'required' | 'optional'
  hsts?: boolean | string
  ticket_rotation?: DurationInput
}

export interface AccessInput {
  allow?: string[]
  deny?: string[]
  allow_file?: string
  deny_file?: string
  default?: 'allow' | 'deny'
}

export interface ListenerInput {
  address: AddressInput
  tls?: ListenTlsInput
  redirect_https?: boolean | number
  access?: AccessInput
  proxy_protocol?: boolean
  proxy_protocol_from?: string[]
  max_connections_per_ip?: number
}

export interface HealthInput {
  type?: 'http' | 'tcp'
  method?: string
  path?: string
  host?: string
  /** 200, or a range "200-399". */
  status?: number | string
  body?: string
  interval?: DurationInput
  jitter?: number
  timeout?: DurationInput
  rise?: number
  fall?: number
}

export interface PassiveInput {
  failures?: number
  errors_5xx?: number
  ejection?: DurationInput
  max_ejection?: DurationInput
  max_ejected_percent?: number
}

export interface UpstreamTlsInput {
  verify?: boolean
  /** A PEM file of the CAs to trust. */
  ca?: string
  servername?: string
  client_cert?: { cert: string; key: string }
}

export interface UpstreamInput {
  /** "host:port", or { address, weight, backup }. */
  peers: (string | { address: string; weight?: number; backup?: boolean })[]
  keepalive?: { max_idle?: number; idle_timeout?: DurationInput }
  balance?: 'round_robin' | 'least_conn' | 'random_two' | 'hash'
  /** "client_ip", "path", "header:NAME" or "cookie:NAME". */
  hash_key?: string
  health?: HealthInput | false
  slow_start?: DurationInput
  passive?: PassiveInput | false
  retries?: number
  retry_budget?: number
  seed?: number
  tls?: UpstreamTlsInput | boolean
}

export interface HeaderOpsInput {
  /** Field name: value template ("{client_ip}", docs/filters.md). */
  set?: Record<string, string | number>
  add?: Record<string, string | number>
  remove?: string[]
}

/** Present (true), absent (false), equal to a string, or matching { regex }. */
export type ValueMatchInput = boolean | string | number | { regex: string }

export interface RuleInput {
  match?: {
    methods?: string | string[]
    path?: string
    path_glob?: string
    path_regex?: string
    ignore_case?: boolean
    host?: string | string[]
    headers?: Record<string, ValueMatchInput>
    query?: Record<string, ValueMatchInput>
    client?: string | string[]
  }
  deny?: number | true
  allow?: true
  redirect?: string
  respond?: number
  status?: number
  body?: string
}

export interface LimitInput {
  name: string
  /** client_ip, user, route, global, header:NAME, cookie:NAME, or a list of them. */
  key: string | string[]
  /** "100/s", "6000/m", "5/10s". */
  rate?: string
  burst?: number
  mode?: 'reject' | 'delay'
  max_inflight?: number
  dry_run?: boolean
  missing?: 'skip' | 'client_ip'
}

export interface RateLimitInput {
  limits: LimitInput[]
  headers?: boolean
  status?: number
  store?: 'memory' | { memory: { max_keys?: number } } | { redis: { url: string; prefix?: string; timeout?: DurationInput; on_error?: 'allow' | 'deny' } }
}

export interface CacheInput {
  zone?: string
  store?: 'memory' | { memory: { max_size?: SizeInput } } | { disk: { path: string; max_size?: SizeInput } }
  max_object_size?: SizeInput
  key?: { headers?: string[]; cookies?: string[] }
  heuristic?: { percent?: number; max?: DurationInput }
  lock_timeout?: DurationInput
  stale_if_down?: DurationInput
  purge?: { allow?: string[] }
}

export interface CompressInput {
  codings?: ('br' | 'gzip')[]
  levels?: { gzip?: number; br?: number }
  types?: string[]
  min_length?: SizeInput
  decode?: boolean
  copies_max_size?: SizeInput
}

/** The feature keys of a route or of `defaults`; `false` (or "off") turns an inherited one off. */
export interface FeaturesInput {
  headers?: { request?: HeaderOpsInput; response?: HeaderOpsInput; request_id?: boolean | string } | false | 'off'
  access?: AccessInput | false | 'off'
  auth?: { realm?: string; htpasswd?: string; users?: Record<string, string>; forward_credentials?: boolean; failures?: { rate?: string; burst?: number } | false | 'off' } | false | 'off'
  rules?: RuleInput[] | false | 'off'
  rate_limit?: RateLimitInput | false | 'off'
  cache?: CacheInput | true | false | 'off'
  compress?: CompressInput | true | false | 'off'
  methods?: string[] | false | 'off'
  max_body?: SizeInput | false | 'off'
  max_headers?: number | false | 'off'
}

export interface RouteInput extends FeaturesInput {
  upstream: string
  host?: string
  path?: string
  ignore_case?: boolean
}

export interface LogTargetInput {
  /** "stdout", "stderr" or a file path. */
  path?: string
  format?: 'json' | 'text'
}

export interface ConfigInput {
  listen?: AddressInput | ListenerInput | (AddressInput | ListenerInput)[]
  trusted_proxies?: string[]
  via?: string
  timeouts?: {
    header?: DurationInput
    keepalive?: DurationInput
    client_idle?: DurationInput
    connect?: DurationInput
    upstream_response?: DurationInput
    upstream_idle?: DurationInput
    tunnel_idle?: DurationInput
    grace?: DurationInput
  }
  limits?: { max_head?: number; max_target?: number; max_connections?: number }
  upstreams: Record<string, UpstreamInput>
  routes?: RouteInput[]
  defaults?: FeaturesInput
  access_log?: LogTargetInput | 'off' | false
  event_log?: LogTargetInput | 'off' | false
  /** A count, or "auto" for one per core. */
  workers?: number | 'auto'
  admin?: { listen: AddressInput; token?: string; htpasswd?: string } | false
}
