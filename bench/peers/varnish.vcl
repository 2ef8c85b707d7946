# Varnish for the cache rows of bench-peers (Debian's varnish, started by bench/peers/cache.ts as
# `varnishd -F -a 127.0.0.1:PORT -f THIS -n DIR/varnish -s malloc,256m -p thread_pools=1`).
# {{PORT}}, {{PEER_PORT}} and {{DIR}} are filled in at run time. The built-in VCL does the rest: the
# peer's Cache-Control decides what is stored and for how long (no-store: a hit-for-miss object, every
# request forwarded), as for rawproxy-cache.yaml and nginx-cache.conf. X-Cache says HIT or MISS, for
# the runner's warm check.
vcl 4.1;

backend peer {
    .host = "127.0.0.1";
    .port = "{{PEER_PORT}}";
}

sub vcl_deliver {
    if (obj.hits > 0) {
        set resp.http.X-Cache = "HIT";
    } else {
        set resp.http.X-Cache = "MISS";
    }
}
