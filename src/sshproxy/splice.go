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
	var toOut, toIn sync.WaitGroup
	copyData(&toOut, out, in)
	copyData(&toIn, in, out)
	var logReq func(*ssh.Request)
	if fromClient {
		logReq = func(r *ssh.Request) { auditRequest(audit, r) }
	}
	go forwardRequests(out, inReqs, &toOut, logReq)
	go forwardRequests(in, outReqs, &toIn, nil)
}

// copyData copies src's data and extended data to dst, then half-closes dst.
func copyData(wg *sync.WaitGroup, dst, src ssh.Channel) {
	wg.Add(2)
	go func() { io.Copy(dst, src); wg.Done() }()
	go func() { io.Copy(dst.Stderr(), src.Stderr()); wg.Done() }()
	go func() { wg.Wait(); dst.CloseWrite() }()
}

// forwardRequests passes channel requests to dst and the answers back;
// once the source channel has closed and its data is through, it closes dst.
func forwardRequests(dst ssh.Channel, reqs <-chan *ssh.Request, data *sync.WaitGroup, log func(*ssh.Request)) {
	for req := range reqs {
		if log != nil {
			log(req)
		}
		ok, err := dst.SendRequest(req.Type, req.WantReply, req.Payload)
		if req.WantReply {
			req.Reply(ok && err == nil, nil)
		}
	}
	data.Wait()
	dst.Close()
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
