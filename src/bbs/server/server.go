// Package server is the BBS's HTTP face: it routes the reference's protobuf
// RPCs to the service, enforces body limits and input validation, streams
// list responses and server-sent events, and guards the admin API.
package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime/debug"

	"code.cloudfoundry.org/bbs/models"
	"github.com/gogo/protobuf/proto"

	"github.com/diego-go/diego/src/bbs/events"
	"github.com/diego-go/diego/src/bbs/service"
)

// ProtoContentType is the media type of every RPC body.
const ProtoContentType = "application/x-protobuf"

// Admin is what the admin API drives: key ring reload and re-encryption.
type Admin interface {
	ReloadKeys(ctx context.Context) (EncryptionStatus, error)
	StartReencrypt(ctx context.Context) (EncryptionStatus, error)
	Status(ctx context.Context) (EncryptionStatus, error)
}

// Config wires a Server.
type Config struct {
	Service *service.Service
	LRPHub  *events.Hub
	TaskHub *events.Hub
	// LRPGroupHub carries the deprecated group stream (/v1/events); when nil
	// that stream serves an empty hub.
	LRPGroupHub      *events.Hub
	Admin            Admin
	AdminCommonNames []string
	MaxBodyBytes     int64
	Logger           *slog.Logger
}

// Server is the BBS API handler.
type Server struct {
	cfg   Config
	svc   *service.Service
	log   *slog.Logger
	mux   *http.ServeMux
	paths map[string]bool // every registered path
}

// New builds the handler with every route registered.
func New(cfg Config) (*Server, error) {
	if cfg.Service == nil || cfg.LRPHub == nil || cfg.TaskHub == nil {
		return nil, errors.New("server: Service, LRPHub and TaskHub are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = 10 << 20
	}
	if cfg.LRPGroupHub == nil {
		cfg.LRPGroupHub = events.NewHub(1, cfg.Logger)
	}
	s := &Server{cfg: cfg, svc: cfg.Service, log: cfg.Logger, mux: http.NewServeMux(), paths: map[string]bool{}}
	s.routes()
	s.legacyRoutes()
	s.adminRoutes()
	return s, nil
}

// KnownRoute reports whether path is one of the API's routes.
func (s *Server) KnownRoute(path string) bool { return s.paths[path] }

// ServeHTTP recovers panics into a typed error response: a client never
// sees a 500 with a stack trace.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	r = withRequest(r)
	defer func() {
		if p := recover(); p != nil {
			if p == http.ErrAbortHandler {
				panic(p)
			}
			id := requestOf(r.Context()).id
			s.log.Error("handler panic", "request_id", id, "path", r.URL.Path, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			writeError(w, models.NewError(models.Error_UnknownError,
				"internal error handling "+r.URL.Path+"; the BBS log has the cause under request id "+id))
		}
	}()
	s.mux.ServeHTTP(w, r)
}

// rpc adapts a typed handler: decode the protobuf body (bounded), validate it,
// call fn and write its response.
func rpc[R any, PR interface {
	*R
	proto.Message
}](s *Server, fn func(ctx context.Context, req PR) proto.Message) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		req := PR(new(R))
		if e := s.decode(w, r, req); e != nil {
			writeError(w, e)
			return
		}
		writeProto(w, fn(r.Context(), req))
	}
}

func (s *Server) decode(w http.ResponseWriter, r *http.Request, req proto.Message) *models.Error {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return models.NewError(models.Error_InvalidRequest,
				fmt.Sprintf("request body exceeds the limit of %d bytes (max_request_body_bytes)", s.cfg.MaxBodyBytes))
		}
		return models.NewError(models.Error_InvalidRequest, "reading request body: "+err.Error())
	}
	if err := proto.Unmarshal(body, req); err != nil {
		return models.NewError(models.Error_InvalidRequest, "request body is not a valid "+proto.MessageName(req)+": "+err.Error())
	}
	return validate(req)
}

// validate checks a decoded request: the BBS's own bounds first, then the
// reference's Validate.
func validate(req proto.Message) *models.Error {
	if err := checkBounds(req); err != nil {
		return models.NewError(models.Error_InvalidRequest, "invalid "+proto.MessageName(req)+": "+err.Error())
	}
	if v, ok := req.(interface{ Validate() error }); ok {
		if err := v.Validate(); err != nil {
			return models.NewError(models.Error_InvalidRequest, "invalid "+proto.MessageName(req)+": "+err.Error())
		}
	}
	return nil
}

func writeProto(w http.ResponseWriter, m proto.Message) {
	b, err := proto.Marshal(m)
	if err != nil {
		writeError(w, models.NewError(models.Error_UnknownError, "encoding response: "+err.Error()))
		return
	}
	w.Header().Set("Content-Type", ProtoContentType)
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
}

// writeError writes a response whose only field is error (field 1). Every
// BBS response message carries its error at field 1, so these bytes decode
// as whichever response type the client expects.
func writeError(w http.ResponseWriter, e *models.Error) {
	b, _ := proto.Marshal(e)
	out := appendField(nil, 1, b)
	w.Header().Set("Content-Type", ProtoContentType)
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(out)
}

// appendField appends a length-delimited protobuf field.
func appendField(dst []byte, field int, payload []byte) []byte {
	dst = appendVarint(dst, uint64(field<<3|2))
	dst = appendVarint(dst, uint64(len(payload)))
	return append(dst, payload...)
}

func appendVarint(dst []byte, v uint64) []byte {
	for v >= 0x80 {
		dst = append(dst, byte(v)|0x80)
		v >>= 7
	}
	return append(dst, byte(v))
}
