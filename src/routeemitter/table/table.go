// Package table decides which router.register and router.unregister messages
// the route emitter sends, from desired LRP routes and running actual LRPs.
package table

import (
	"fmt"
	"reflect"
	"sort"
	"strconv"

	"code.cloudfoundry.org/bbs/models"
	"code.cloudfoundry.org/routing-info/cfroutes"
	"code.cloudfoundry.org/routing-info/internalroutes"
)

// RegistryMessage is the JSON body of router.register and router.unregister,
// field for field as the reference route emitter sends it.
type RegistryMessage struct {
	Host                 string            `json:"host"`
	Port                 uint32            `json:"port"`
	TLSPort              uint32            `json:"tls_port,omitempty"`
	URIs                 []string          `json:"uris"`
	Protocol             string            `json:"protocol,omitempty"`
	App                  string            `json:"app,omitempty"`
	RouteServiceURL      string            `json:"route_service_url,omitempty"`
	PrivateInstanceID    string            `json:"private_instance_id,omitempty"`
	PrivateInstanceIndex string            `json:"private_instance_index,omitempty"`
	ServerCertDomainSAN  string            `json:"server_cert_domain_san,omitempty"`
	IsolationSegment     string            `json:"isolation_segment,omitempty"`
	Tags                 map[string]string `json:"tags,omitempty"`
	AvailabilityZone     string            `json:"availability_zone,omitempty"`
}

// Messages are what one change asks the emitter to send: router.register
// and router.unregister bodies, and the internal (service discovery) ones
// for service-discovery.register and service-discovery.unregister.
type Messages struct {
	Registrations   []RegistryMessage
	Unregistrations []RegistryMessage

	InternalRegistrations   []RegistryMessage
	InternalUnregistrations []RegistryMessage
}

// Empty reports whether there is nothing to send.
func (m Messages) Empty() bool {
	return len(m.Registrations) == 0 && len(m.Unregistrations) == 0 &&
		len(m.InternalRegistrations) == 0 && len(m.InternalUnregistrations) == 0
}

// Options change what the table emits.
type Options struct {
	// DirectInstanceRoutes routes to the container's address and port
	// (the instance address) instead of the cell's host port when an
	// instance does not state its preferred address (the reference's
	// register_direct_instance_routes).
	DirectInstanceRoutes bool
}

type route struct {
	hostname, routeServiceURL, isolationSegment, protocol string
}

type desired struct {
	logGUID    string
	metricTags map[string]*models.MetricTagValue
	routes     map[uint32][]route // by container port
	internal   []string           // internal-router hostnames
}

type endpointKey struct {
	instanceGUID string
	evacuating   bool
}

type endpoint struct {
	instanceGUID, host, containerIP, az string
	index                               int32
	ports                               []*models.PortMapping
	preferred                           models.ActualLRPNetInfo_PreferredAddress
}

// Table holds the routes of desired LRPs and the endpoints of their running
// instances. It is not safe for concurrent use; the caller serialises events.
type Table struct {
	opts    Options
	desired map[string]desired
	actual  map[string]map[endpointKey]endpoint
	// cache holds messagesFor's result per process; every change to a
	// process's desired LRP or endpoints drops its entry.
	cache map[string]processMessages
}

// New returns an empty table with the default options.
func New() *Table { return NewWithOptions(Options{}) }

// NewWithOptions returns an empty table.
func NewWithOptions(o Options) *Table {
	return &Table{opts: o, desired: map[string]desired{}, actual: map[string]map[endpointKey]endpoint{}, cache: map[string]processMessages{}}
}

// HasDesired reports whether the table knows processGUID's desired LRP.
func (t *Table) HasDesired(processGUID string) bool {
	_, ok := t.desired[processGUID]
	return ok
}

// SetDesired records a created or changed desired LRP and returns the
// messages that bring the routers up to date.
func (t *Table) SetDesired(lrp *models.DesiredLRP) Messages {
	guid := lrp.ProcessGuid
	before := t.messagesFor(guid)
	d := desired{logGUID: lrp.LogGuid, metricTags: lrp.MetricTags, routes: map[uint32][]route{}}
	if lrp.Routes != nil {
		rs, _ := cfroutes.CFRoutesFromRoutingInfo(*lrp.Routes)
		for _, r := range rs {
			for _, h := range r.Hostnames {
				d.routes[r.Port] = append(d.routes[r.Port], route{h, r.RouteServiceUrl, r.IsolationSegment, r.Protocol})
			}
		}
		irs, _ := internalroutes.InternalRoutesFromRoutingInfo(*lrp.Routes)
		for _, r := range irs {
			d.internal = append(d.internal, r.Hostname)
		}
	}
	t.desired[guid] = d
	delete(t.cache, guid)
	return diff(before, t.messagesFor(guid))
}

// RemoveDesired forgets a desired LRP's routes and unregisters them.
func (t *Table) RemoveDesired(processGUID string) Messages {
	before := t.messagesFor(processGUID)
	delete(t.desired, processGUID)
	delete(t.cache, processGUID)
	return diff(before, processMessages{})
}

// Routable reports whether an actual LRP is routed: RUNNING and routable
// (or not saying), as the reference's watcher decides.
func Routable(lrp *models.ActualLRP) bool {
	return lrp.State == models.ActualLRPStateRunning && (!lrp.RoutableExists() || lrp.GetRoutable())
}

// SetActual records an actual LRP after a create or change: a RUNNING
// instance that is routable (or does not say) is routed, anything else is
// removed from the table.
func (t *Table) SetActual(lrp *models.ActualLRP) Messages {
	if !Routable(lrp) {
		return t.RemoveActual(lrp)
	}
	guid := lrp.ProcessGuid
	before := t.messagesFor(guid)
	eps := t.actual[guid]
	if eps == nil {
		eps = map[endpointKey]endpoint{}
		t.actual[guid] = eps
	}
	eps[keyOf(lrp)] = endpoint{instanceGUID: lrp.InstanceGuid, host: lrp.Address, containerIP: lrp.InstanceAddress,
		az: lrp.AvailabilityZone, index: lrp.Index, ports: lrp.Ports, preferred: lrp.PreferredAddress}
	delete(t.cache, guid)
	return diff(before, t.messagesFor(guid))
}

// RemoveActual forgets an actual LRP (removed, crashed, or no longer
// running); an evacuating and an instance record of the same instance are
// separate endpoints, as in the reference.
func (t *Table) RemoveActual(lrp *models.ActualLRP) Messages {
	guid := lrp.ProcessGuid
	eps, ok := t.actual[guid]
	if !ok {
		return Messages{}
	}
	if _, ok := eps[keyOf(lrp)]; !ok {
		return Messages{}
	}
	before := t.messagesFor(guid)
	delete(eps, keyOf(lrp))
	if len(eps) == 0 {
		delete(t.actual, guid)
	}
	delete(t.cache, guid)
	return diff(before, t.messagesFor(guid))
}

// Registrations returns every registration the table holds, for the
// periodic re-registration and for a bulk sync.
func (t *Table) Registrations() []RegistryMessage {
	var out []RegistryMessage
	for _, g := range t.guids() {
		out = append(out, t.messagesFor(g).external...)
	}
	return out
}

// InternalRegistrations returns every internal (service discovery)
// registration the table holds.
func (t *Table) InternalRegistrations() []RegistryMessage {
	var out []RegistryMessage
	for _, g := range t.guids() {
		out = append(out, t.messagesFor(g).internal...)
	}
	return out
}

// Entry is one registration of the table and the process it routes to.
type Entry struct {
	ProcessGUID string
	RegistryMessage
}

// Snapshot lists the external and internal registrations with their
// process guids, sorted by process guid.
func (t *Table) Snapshot() (external, internal []Entry) {
	for _, g := range t.guids() {
		ms := t.messagesFor(g)
		for _, m := range ms.external {
			external = append(external, Entry{g, m})
		}
		for _, m := range ms.internal {
			internal = append(internal, Entry{g, m})
		}
	}
	return external, internal
}

func (t *Table) guids() []string {
	guids := make([]string, 0, len(t.desired))
	for g := range t.desired {
		guids = append(guids, g)
	}
	sort.Strings(guids)
	return guids
}

// Swap replaces the table's content with other's (a bulk sync) and returns
// the messages that take the routers from the old content to the new. The
// table keeps its own options. Only processes whose desired LRP or
// endpoints differ are diffed, so a sync that changes little costs little.
func (t *Table) Swap(other *Table) Messages {
	guids := t.guids()
	for g := range other.desired {
		if _, ok := t.desired[g]; !ok {
			guids = append(guids, g)
		}
	}
	sort.Strings(guids)
	var out Messages
	next := &Table{opts: t.opts, desired: other.desired, actual: other.actual, cache: make(map[string]processMessages, len(other.desired))}
	for _, g := range guids {
		if reflect.DeepEqual(t.desired[g], other.desired[g]) && reflect.DeepEqual(t.actual[g], other.actual[g]) {
			if ms, ok := t.cache[g]; ok {
				next.cache[g] = ms
			}
			continue
		}
		before := t.messagesFor(g)
		after := next.messagesFor(g)
		m := diff(before, after)
		out.Registrations = append(out.Registrations, m.Registrations...)
		out.Unregistrations = append(out.Unregistrations, m.Unregistrations...)
		out.InternalRegistrations = append(out.InternalRegistrations, m.InternalRegistrations...)
		out.InternalUnregistrations = append(out.InternalUnregistrations, m.InternalUnregistrations...)
	}
	t.desired, t.actual, t.cache = next.desired, next.actual, next.cache
	return out
}

func keyOf(lrp *models.ActualLRP) endpointKey {
	return endpointKey{lrp.InstanceGuid, lrp.Presence == models.ActualLRP_Evacuating}
}

// processMessages are one process's external and internal registrations.
type processMessages struct{ external, internal []RegistryMessage }

// messagesFor lists the registrations of one process, sorted: one per
// hostname and endpoint as the reference does, and one per internal
// hostname and instance.
func (t *Table) messagesFor(processGUID string) processMessages {
	if ms, ok := t.cache[processGUID]; ok {
		return ms
	}
	ms := t.compute(processGUID)
	if _, desired := t.desired[processGUID]; desired {
		t.cache[processGUID] = ms
	}
	return ms
}

func (t *Table) compute(processGUID string) processMessages {
	var out processMessages
	d, ok := t.desired[processGUID]
	if !ok {
		return out
	}
	for _, ep := range t.actual[processGUID] {
		for _, pm := range ep.ports {
			if pm == nil {
				continue
			}
			for _, r := range d.routes[pm.ContainerPort] {
				out.external = append(out.external, message(d, r, ep, pm, t.direct(ep)))
			}
		}
		for _, h := range d.internal {
			out.internal = append(out.internal, internalMessage(d, h, ep))
		}
	}
	sortMessages(out.external)
	sortMessages(out.internal)
	return out
}

func sortMessages(ms []RegistryMessage) {
	sort.Slice(ms, func(i, j int) bool { return identity(ms[i]) < identity(ms[j]) })
}

// direct reports whether ep is routed at its container address: as the
// instance prefers, or by the table's option when it does not say.
func (t *Table) direct(ep endpoint) bool {
	switch ep.preferred {
	case models.ActualLRPNetInfo_PreferredAddressInstance:
		return true
	case models.ActualLRPNetInfo_PreferredAddressHost:
		return false
	}
	return t.opts.DirectInstanceRoutes
}

// internalMessage is the service-discovery.register body of one internal
// hostname and instance: the container address, the hostname and
// INDEX.hostname, as the reference.
func internalMessage(d desired, hostname string, ep endpoint) RegistryMessage {
	var index string
	if ep.instanceGUID != "" {
		index = strconv.Itoa(int(ep.index))
	}
	return RegistryMessage{
		Host: ep.containerIP, URIs: []string{hostname, index + "." + hostname}, App: d.logGUID,
		PrivateInstanceIndex: index, Tags: map[string]string{"component": "route-emitter"}, AvailabilityZone: ep.az,
	}
}

func message(d desired, r route, ep endpoint, pm *models.PortMapping, direct bool) RegistryMessage {
	var index string
	if ep.instanceGUID != "" {
		index = strconv.Itoa(int(ep.index))
	}
	tags := map[string]string{}
	for k, v := range d.metricTags {
		switch {
		case v == nil:
		case v.Dynamic == models.MetricTagDynamicValueIndex:
			tags[k] = strconv.Itoa(int(ep.index))
		case v.Dynamic == models.MetricTagDynamicValueInstanceGuid:
			tags[k] = ep.instanceGUID
		default:
			tags[k] = v.Static
		}
	}
	tags["component"] = "route-emitter"
	host, port, tlsPort := ep.host, pm.HostPort, pm.HostTlsProxyPort
	if direct {
		host, port, tlsPort = ep.containerIP, pm.ContainerPort, pm.ContainerTlsProxyPort
	}
	return RegistryMessage{
		Host: host, Port: port, TLSPort: tlsPort,
		URIs: []string{r.hostname}, Protocol: r.protocol, App: d.logGUID,
		RouteServiceURL: r.routeServiceURL, IsolationSegment: r.isolationSegment,
		PrivateInstanceID: ep.instanceGUID, PrivateInstanceIndex: index,
		ServerCertDomainSAN: ep.instanceGUID, Tags: tags, AvailabilityZone: ep.az,
	}
}

// identity is what makes two registrations the same for the diff: every
// field the router keys on or shows.
func identity(m RegistryMessage) string {
	return fmt.Sprintf("%v|%s|%d|%d|%s|%s|%s|%s|%s|%s|%s|%v", m.URIs, m.Host, m.Port, m.TLSPort, m.Protocol, m.App,
		m.RouteServiceURL, m.PrivateInstanceID, m.PrivateInstanceIndex, m.IsolationSegment, m.AvailabilityZone, m.Tags)
}

// diff registers what is new in after and unregisters what after lost,
// external and internal apart.
func diff(before, after processMessages) Messages {
	var out Messages
	out.Registrations, out.Unregistrations = diffList(before.external, after.external)
	out.InternalRegistrations, out.InternalUnregistrations = diffList(before.internal, after.internal)
	return out
}

func diffList(before, after []RegistryMessage) (registrations, unregistrations []RegistryMessage) {
	had := make(map[string]bool, len(before))
	for _, m := range before {
		had[identity(m)] = true
	}
	has := make(map[string]bool, len(after))
	for _, m := range after {
		id := identity(m)
		has[id] = true
		if !had[id] {
			registrations = append(registrations, m)
		}
	}
	for _, m := range before {
		if !has[identity(m)] {
			unregistrations = append(unregistrations, m)
		}
	}
	return registrations, unregistrations
}
