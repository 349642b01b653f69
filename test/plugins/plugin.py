#!/usr/bin/env python3
"""A legacy Docker plugin for cnm's tests: a NetworkDriver, an IpamDriver, or both.

Python 3 standard library only. It listens on a unix socket and speaks
Docker's plugin protocol (POST /<Interface>.<Method>, JSON bodies).

The network driver has a real data plane, in the namespace it runs in (the
daemon's): a Linux bridge per network (made at CreateNetwork, with the
network's gateway address), and per endpoint a veth pair made at Join whose
host end is enslaved to the bridge and whose other end is handed back as
SrcName with DstPrefix "eth"; DeleteEndpoint deletes the pair.

The IPAM driver hands out pools (the one asked for, else 10.199.N.0/24) and
addresses in them, gateway first.

Failure injection: the control file (--control), read at every call, is a
JSON object {"<Interface>.<Method>": "error" | "http500" | "timeout" | "kill" |
"garbage" | "badaddr"}. Every call is appended to the log file (--log) as one
JSON line {"method", "body", "ms"} where ms is the plugin's own handling time.
"""
import argparse
import ipaddress
import json
import os
import socketserver
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler

MIME = 'application/vnd.docker.plugins.v1.2+json'

ap = argparse.ArgumentParser()
ap.add_argument('--socket', required=True)
ap.add_argument('--kind', choices=['network', 'ipam', 'both'], default='network')
ap.add_argument('--control', default='')
ap.add_argument('--log', default='')
ap.add_argument('--scope', default='local')
ap.add_argument('--requires-mac', action='store_true')
ap.add_argument('--replay', action='store_true')
ap.add_argument('--state', default='', help='file its networks, endpoints and pools are kept in across restarts')
ap.add_argument('--noop', action='store_true', help='no data plane (benchmarks of the call overhead)')
args = ap.parse_args()

lock = threading.Lock()
networks = {}   # NetworkID -> {"bridge", "gateway"}
endpoints = {}  # EndpointID -> {"network", "host", "peer"}
pools = {}      # PoolID -> {"net": ip_network, "used": set(), "refs": int}
next_pool = [0]


def ip(*cmd):
    subprocess.run(['ip', *cmd], check=True, capture_output=True)


def ip_quiet(*cmd):
    subprocess.run(['ip', *cmd], check=False, capture_output=True)


def save():
    if not args.state:
        return
    data = {'networks': networks, 'endpoints': endpoints, 'next_pool': next_pool[0],
            'pools': {k: {'net': str(p['net']), 'used': sorted(str(a) for a in p['used']), 'refs': p['refs']} for k, p in pools.items()}}
    with open(args.state + '.tmp', 'w') as f:
        json.dump(data, f)
    os.replace(args.state + '.tmp', args.state)


def load():
    if not args.state or not os.path.exists(args.state):
        return
    with open(args.state) as f:
        data = json.load(f)
    networks.update(data['networks'])
    endpoints.update(data['endpoints'])
    next_pool[0] = data['next_pool']
    for k, p in data['pools'].items():
        pools[k] = {'net': ipaddress.ip_network(p['net']), 'used': {ipaddress.ip_address(a) for a in p['used']}, 'refs': p['refs']}


def control():
    if not args.control:
        return {}
    try:
        with open(args.control) as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}


def log_call(method, body, ms):
    if not args.log:
        return
    with lock, open(args.log, 'a') as f:
        f.write(json.dumps({'method': method, 'body': body, 'ms': ms}) + '\n')


class Fail(Exception):
    pass


# --- NetworkDriver ---------------------------------------------------------

def net_caps(_b):
    return {'Scope': args.scope, 'ConnectivityScope': args.scope}


def create_network(b):
    nid = b['NetworkID']
    bridge = 'pb-' + nid[:10]
    gw = (b.get('IPv4Data') or [{}])[0].get('Gateway', '')
    generic = (b.get('Options') or {}).get('com.docker.network.generic') or {}
    if generic.get('fail') == 'create':
        raise Fail('refused by option fail=create')
    if not args.noop:
        ip('link', 'add', bridge, 'type', 'bridge')
        try:
            if gw:
                ip('addr', 'add', gw, 'dev', bridge)
            ip('link', 'set', bridge, 'up')
        except subprocess.CalledProcessError:
            ip_quiet('link', 'del', bridge)
            raise
    networks[nid] = {'bridge': bridge, 'gateway': gw.split('/')[0], 'generic': generic}
    return {}


def delete_network(b):
    n = networks.pop(b['NetworkID'], None)
    if n and not args.noop:
        ip_quiet('link', 'del', n['bridge'])
    return {}


def create_endpoint(b):
    if b['NetworkID'] not in networks:
        raise Fail('no network ' + b['NetworkID'])
    eid = b['EndpointID']
    endpoints[eid] = {'network': b['NetworkID'], 'host': 'pv' + eid[:10], 'peer': 'pc' + eid[:10]}
    return {'Interface': {}}


def join(b):
    e = endpoints.get(b['EndpointID'])
    if not e:
        raise Fail('no endpoint ' + b['EndpointID'])
    n = networks[e['network']]
    if not args.noop:
        ip_quiet('link', 'del', e['host'])
        ip('link', 'add', e['host'], 'type', 'veth', 'peer', 'name', e['peer'])
        ip('link', 'set', e['host'], 'master', n['bridge'], 'up')
    out = {'InterfaceName': {'SrcName': e['peer'], 'DstPrefix': n['generic'].get('prefix', 'eth')}}
    if n['gateway']:
        out['Gateway'] = n['gateway']
    route = n['generic'].get('route')
    if route:
        out['StaticRoutes'] = [{'Destination': route, 'RouteType': 1}]
    return out


def leave(_b):
    return {}


def delete_endpoint(b):
    e = endpoints.pop(b['EndpointID'], None)
    if e and not args.noop:
        ip_quiet('link', 'del', e['host'])
    return {}


# --- IpamDriver ------------------------------------------------------------

def ipam_caps(_b):
    return {'RequiresMACAddress': args.requires_mac, 'RequiresRequestReplay': args.replay}


def spaces(_b):
    return {'LocalDefaultAddressSpace': 'testlocal', 'GlobalDefaultAddressSpace': 'testglobal'}


def request_pool(b):
    if b.get('V6'):
        raise Fail('this IPAM plugin has no IPv6 pools')
    want = b.get('Pool') or ''
    if want:
        net = ipaddress.ip_network(want)
    else:
        net = ipaddress.ip_network('10.199.%d.0/24' % next_pool[0])
        next_pool[0] += 1
    pid = 'pool-' + str(net)
    p = pools.setdefault(pid, {'net': net, 'used': set(), 'refs': 0})
    p['refs'] += 1
    return {'PoolID': pid, 'Pool': str(net), 'Data': {}}


def release_pool(b):
    p = pools.get(b['PoolID'])
    if not p:
        raise Fail('unknown pool ' + b['PoolID'])
    p['refs'] -= 1
    if p['refs'] <= 0:
        del pools[b['PoolID']]
    return {}


def request_address(b):
    p = pools.get(b['PoolID'])
    if not p:
        raise Fail('unknown pool ' + b['PoolID'])
    opts = b.get('Options') or {}
    # Endpoint addresses carry the MAC (gateway and aux requests do not).
    endpoint = opts.get('RequestAddressType') != 'com.docker.network.gateway' and not b.get('Address')
    if args.requires_mac and endpoint and not opts.get('com.docker.network.endpoint.macaddress'):
        raise Fail('no MAC address in the request')
    want = b.get('Address') or ''
    if want:
        a = ipaddress.ip_address(want)
        if a in p['used']:
            raise Fail('address %s in use' % want)
    else:
        a = next((h for h in p['net'].hosts() if h not in p['used']), None)
        if a is None:
            raise Fail('pool exhausted')
    p['used'].add(a)
    return {'Address': '%s/%d' % (a, p['net'].prefixlen), 'Data': {}}


def release_address(b):
    p = pools.get(b['PoolID'])
    if p:
        p['used'].discard(ipaddress.ip_address(b['Address']))
    return {}


NETWORK = {
    'GetCapabilities': net_caps, 'CreateNetwork': create_network, 'DeleteNetwork': delete_network,
    'CreateEndpoint': create_endpoint, 'DeleteEndpoint': delete_endpoint, 'Join': join, 'Leave': leave,
    'EndpointOperInfo': lambda b: {'Value': {}},
    'ProgramExternalConnectivity': lambda b: {}, 'RevokeExternalConnectivity': lambda b: {},
    'DiscoverNew': lambda b: {}, 'DiscoverDelete': lambda b: {},
}
IPAM = {
    'GetCapabilities': ipam_caps, 'GetDefaultAddressSpaces': spaces, 'RequestPool': request_pool,
    'ReleasePool': release_pool, 'RequestAddress': request_address, 'ReleaseAddress': release_address,
}
IMPLEMENTS = {'network': ['NetworkDriver'], 'ipam': ['IpamDriver'], 'both': ['NetworkDriver', 'IpamDriver']}[args.kind]


class Handler(BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'

    def log_message(self, *_a):
        pass

    def setup(self):
        # The plugin's own time starts when it takes the connection (reading
        # and parsing the request are its work too).
        self.t0 = time.perf_counter()
        super().setup()

    def answer(self, status, raw):
        data = raw.encode()
        self.send_response(status)
        self.send_header('Content-Type', MIME)
        self.send_header('Content-Length', str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        t0 = self.t0
        n = int(self.headers.get('Content-Length') or 0)
        raw = self.rfile.read(n) if n else b''
        method = self.path.lstrip('/')
        body = json.loads(raw) if raw.strip() else {}
        fault = control().get(method)
        iface, _, name = method.partition('.')
        errfield = 'Error' if iface == 'IpamDriver' else 'Err'
        if fault == 'kill':
            os._exit(17)
        if fault == 'timeout':
            time.sleep(3600)
        if fault == 'garbage':
            return self.answer(200, '{"Interface": {tru')
        if fault == 'http500':
            return self.answer(500, json.dumps({errfield: 'injected failure of ' + method}))
        if fault == 'error':
            return self.answer(200, json.dumps({errfield: 'injected failure of ' + method}))
        if method == 'Plugin.Activate':
            log_call(method, body, (time.perf_counter() - t0) * 1000)
            return self.answer(200, json.dumps({'Implements': IMPLEMENTS}))
        table = NETWORK if iface == 'NetworkDriver' and 'NetworkDriver' in IMPLEMENTS else IPAM if iface == 'IpamDriver' and 'IpamDriver' in IMPLEMENTS else {}
        fn = table.get(name)
        if not fn:
            return self.answer(404, json.dumps({errfield: 'unknown method ' + method}))
        try:
            with lock:
                out = fn(body)
                save()
            if fault == 'badaddr' and 'Address' in out:
                out['Address'] = 'not-an-address'
            status = 200
        except Fail as e:
            out, status = {errfield: str(e)}, 500
        except Exception as e:  # noqa: BLE001 - the daemon gets the reason
            out, status = {errfield: '%s: %s' % (type(e).__name__, e)}, 500
        # Logged before the answer: a test that has the answer finds the line.
        log_call(method, body, (time.perf_counter() - t0) * 1000)
        self.answer(status, json.dumps(out))


class Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True

    def get_request(self):
        req, _ = super().get_request()
        # http.server wants a client address; a unix socket has none.
        return req, ('plugin', 0)


if __name__ == '__main__':
    load()
    if os.path.exists(args.socket):
        os.unlink(args.socket)
    srv = Server(args.socket, Handler)
    print('listening', args.socket, flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        sys.exit(0)
