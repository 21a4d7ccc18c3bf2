package backchannel_test

import (
	"context"
	"fmt"
	"net/http/httptest"

	"github.com/gologto/logto/backchannel"
	"github.com/gologto/logto/logtotest"
)

// Example mounts the handler at the app's back-channel logout URI and lets
// the fake Logto send a logout token, as Logto does when the user signs
// out elsewhere.
func Example() {
	srv, _ := logtotest.Start()
	defer srv.Close()

	h, err := backchannel.NewHandler(backchannel.Config{
		Endpoint: srv.URL(),
		AppId:    "my-app",
		OnLogout: func(ctx context.Context, subject, sid string) error {
			fmt.Println("end the sessions of", subject)
			return nil
		},
	})
	if err != nil {
		panic(err)
	}
	app := httptest.NewServer(h) // mux.Handle("POST /backchannel-logout", h)
	defer app.Close()

	srv.AddApp(logtotest.App{ID: "my-app", Secret: "s", Type: logtotest.AppTraditional, BackchannelLogoutURI: app.URL})
	if err := srv.SendBackchannelLogout("my-app", "user-1", ""); err != nil {
		panic(err)
	}
	// Output:
	// end the sessions of user-1
}
