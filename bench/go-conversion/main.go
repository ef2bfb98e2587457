// The controller-runtime peer of the conversion webhook benchmark: the
// example.com User conversion (v1 hub, v2 spoke) served by
// controller-runtime's own conversion webhook handler on a plain net/http
// server, with no manager and no cluster.
package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/apimachinery/pkg/runtime"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/webhook/conversion"

	v1 "crdforge.local/bench-conversion/api/v1"
	v2 "crdforge.local/bench-conversion/api/v2"
)

// newScheme registers both versions of User, as a manager's scheme has them.
func newScheme() (*runtime.Scheme, error) {
	scheme := runtime.NewScheme()
	if err := v1.AddToScheme(scheme); err != nil {
		return nil, err
	}
	if err := v2.AddToScheme(scheme); err != nil {
		return nil, err
	}
	// The check controller-runtime's builder makes before it mounts the
	// conversion webhook for a type.
	ok, err := conversion.IsConvertible(scheme, &v1.User{})
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, errors.New("User is not convertible")
	}
	return scheme, nil
}

// newMux mounts the conversion webhook at /convert and a health check at
// /healthz.
func newMux(scheme *runtime.Scheme) *http.ServeMux {
	mux := http.NewServeMux()
	mux.Handle("/convert", conversion.NewWebhookHandler(scheme, conversion.NewRegistry()))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("ok"))
	})
	return mux
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}

func run() error {
	listen := flag.String("listen", "127.0.0.1:0", "address to listen on (port 0 picks one)")
	certFile := flag.String("cert", "", "PEM certificate chain (required)")
	keyFile := flag.String("key", "", "PEM private key (required)")
	http2 := flag.Bool("http2", false, "offer HTTP/2 too (off, as kubebuilder's scaffold and the Rust server have it)")
	flag.Parse()
	if *certFile == "" || *keyFile == "" {
		flag.Usage()
		return errors.New("--cert and --key are required")
	}

	// Catch the signals first, so that one sent as soon as the line below
	// is read already ends the server cleanly.
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()

	// controller-runtime's loggers stay silent, and it does not warn that
	// none was set.
	ctrllog.SetLogger(logr.Discard())

	scheme, err := newScheme()
	if err != nil {
		return err
	}
	cert, err := tls.LoadX509KeyPair(*certFile, *keyFile)
	if err != nil {
		return err
	}
	protocols := new(http.Protocols)
	protocols.SetHTTP1(true)
	protocols.SetHTTP2(*http2)
	srv := &http.Server{
		Handler:           newMux(scheme),
		TLSConfig:         &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12},
		Protocols:         protocols,
		ReadHeaderTimeout: 30 * time.Second,
	}

	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stdout, "listening on %s\n", ln.Addr())
	_ = os.Stdout.Sync()

	served := make(chan error, 1)
	go func() { served <- srv.ServeTLS(ln, "", "") }()
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil {
		return err
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
