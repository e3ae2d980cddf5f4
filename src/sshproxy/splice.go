package sshproxy

import (
	"errors"
	"io"
	"log/slog"
	"sync"

	"golang.org/x/crypto/ssh"
)

// forwardGlobalRequests passes global requests (tcpip-forward, keepalives)
// on to dst and its answers back.
func forwardGlobalRequests(dst ssh.Conn, reqs <-chan *ssh.Request) {
	for req := range reqs {
		ok, payload, err := dst.SendRequest(req.Type, req.WantReply, req.Payload)
		if err != nil {
			ok, payload = false, nil
		}
		if req.WantReply {
			req.Reply(ok, payload)
		}
	}
}

// proxyChannels opens each new channel on dst and splices the two.
// fromClient says the channels come from the user (they are audited).
func proxyChannels(audit *slog.Logger, dst ssh.Conn, chans <-chan ssh.NewChannel, fromClient bool) {
	for nch := range chans {
		go proxyChannel(audit, dst, nch, fromClient)
	}
}

func proxyChannel(audit *slog.Logger, dst ssh.Conn, nch ssh.NewChannel, fromClient bool) {
	if fromClient {
		attrs := []any{"type", nch.ChannelType()}
		if nch.ChannelType() == "direct-tcpip" {
			var m struct {
				Host       string
				Port       uint32
				OriginHost string
				OriginPort uint32
			}
			if ssh.Unmarshal(nch.ExtraData(), &m) == nil {
				attrs = append(attrs, "target_host", m.Host, "target_port", m.Port)
			}
		}
		audit.Info("ssh-proxy.channel-opened", attrs...)
	}
	out, outReqs, err := dst.OpenChannel(nch.ChannelType(), nch.ExtraData())
	if err != nil {
		var oe *ssh.OpenChannelError
		if errors.As(err, &oe) {
			nch.Reject(oe.Reason, oe.Message)
		} else {
			nch.Reject(ssh.ConnectionFailed, err.Error())
		}
		return
	}
	in, inReqs, err := nch.Accept()
	if err != nil {
		out.Close()
		return
	}
	var logReq func(*ssh.Request)
	if fromClient {
		logReq = func(r *ssh.Request) { auditRequest(audit, r) }
	}
	var inGuard, outGuard sync.RWMutex
	up := startHalf(in, out, &inGuard, &outGuard)
	down := startHalf(out, in, &outGuard, &inGuard)
	go up.forwardRequests(inReqs, logReq)
	go down.forwardRequests(outReqs, nil)
}

// half is one direction of a spliced channel. What src's peer sends
// reaches dst's peer in the order SSH gives it meaning: all the data, then
// EOF, then the exit status, then the close; and dst is not closed while
// an answer to one of src's requests is on its way (a client whose exec
// reply was lost to the close saw no output and no error).
type half struct {
	src, dst ssh.Channel
	// drained is closed once src's data and extended data are written to
	// dst and dst has sent EOF.
	drained chan struct{}
	// srcGuard is read-held while one of dst's peer's requests is answered
	// on src; dstGuard the same for dst, whose close takes it for writing.
	srcGuard, dstGuard *sync.RWMutex
}

// startHalf starts copying src's data to dst, then half-closing dst.
func startHalf(src, dst ssh.Channel, srcGuard, dstGuard *sync.RWMutex) *half {
	h := &half{src: src, dst: dst, drained: make(chan struct{}), srcGuard: srcGuard, dstGuard: dstGuard}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { io.Copy(dst, src); wg.Done() }()
	go func() { io.Copy(dst.Stderr(), src.Stderr()); wg.Done() }()
	go func() {
		wg.Wait()
		dst.CloseWrite()
		close(h.drained)
	}()
	return h
}

// forwardRequests passes src's requests to dst and dst's answers back:
// an exit-status or exit-signal once src's data is through. When src has
// closed and its data is through, it closes dst, after any answer to a
// request from dst's peer that is still on its way there.
func (h *half) forwardRequests(reqs <-chan *ssh.Request, log func(*ssh.Request)) {
	for req := range reqs {
		if log != nil {
			log(req)
		}
		if req.Type == "exit-status" || req.Type == "exit-signal" {
			<-h.drained
		}
		// The answer goes back on src: src must not close under it. It
		// cannot wait long: a src closed by its peer ends dst's wait for
		// an answer, as the close of the whole connection does.
		h.srcGuard.RLock()
		ok, err := h.dst.SendRequest(req.Type, req.WantReply, req.Payload)
		if req.WantReply {
			req.Reply(ok && err == nil, nil)
		}
		h.srcGuard.RUnlock()
	}
	<-h.drained
	h.dstGuard.Lock()
	h.dst.Close()
	h.dstGuard.Unlock()
}

// auditRequest logs what a session runs.
func auditRequest(audit *slog.Logger, r *ssh.Request) {
	switch r.Type {
	case "exec":
		var m struct{ Command string }
		ssh.Unmarshal(r.Payload, &m)
		audit.Info("ssh-proxy.session-request", "request", "exec", "command", m.Command)
	case "subsystem":
		var m struct{ Name string }
		ssh.Unmarshal(r.Payload, &m)
		audit.Info("ssh-proxy.session-request", "request", "subsystem", "subsystem", m.Name)
	case "shell", "pty-req":
		audit.Info("ssh-proxy.session-request", "request", r.Type)
	}
}
