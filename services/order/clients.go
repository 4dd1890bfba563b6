package order

import (
	"context"
	"errors"

	"github.com/opencommerce/opencommerce/contracts"
	"github.com/opencommerce/opencommerce/internal/bus"
)

// Catalog answers product.lookup for the cart and checkout.
type Catalog interface {
	// Lookup returns one item per id, in order; unknown ids come back with
	// Exists false. Errors are *contracts.Error (unavailable when the
	// product service cannot be reached).
	Lookup(ctx context.Context, ids []string) ([]contracts.LookupItem, error)
}

// AddressBook reads a user's saved addresses from the user service.
type AddressBook interface {
	// Addresses lists the address book of actor (the buyer). Errors are
	// *contracts.Error; unavailable when the user service cannot be
	// reached.
	Addresses(ctx context.Context, actor contracts.Actor) ([]contracts.Address, error)
}

// rpcCatalog is Catalog over the bus.
type rpcCatalog struct{ c *bus.Client }

func (r rpcCatalog) Lookup(ctx context.Context, ids []string) ([]contracts.LookupItem, error) {
	rep, err := bus.Invoke[contracts.LookupReply](ctx, r.c, "product", contracts.MethodProductLookup,
		contracts.LookupRequest{IDs: ids}, bus.CallOptions{Actor: contracts.Actor{Role: contracts.RoleService}})
	if err != nil {
		return nil, dependencyError("product", err)
	}
	if len(rep.Items) != len(ids) {
		return nil, contracts.Errorf(contracts.CodeUnavailable, "product service answered %d items for %d ids", len(rep.Items), len(ids))
	}
	return rep.Items, nil
}

// rpcAddressBook is AddressBook over the bus: user.addresses.list called
// as the buyer.
type rpcAddressBook struct{ c *bus.Client }

func (r rpcAddressBook) Addresses(ctx context.Context, actor contracts.Actor) ([]contracts.Address, error) {
	rep, err := bus.Invoke[contracts.List[contracts.Address]](ctx, r.c, "user", contracts.MethodUserAddressesList,
		contracts.Envelope{}, bus.CallOptions{Actor: actor})
	if err != nil {
		return nil, dependencyError("user", err)
	}
	return rep.Items, nil
}

// dependencyError turns a failed call to another service into an error for
// our caller: transport failures and the other side's internal errors are
// unavailable (our request was fine; the dependency was not), other codes
// pass through.
func dependencyError(service string, err error) error {
	var ce *contracts.Error
	if !errors.As(err, &ce) {
		return contracts.Errorf(contracts.CodeUnavailable, "%s service unavailable", service)
	}
	switch ce.Code {
	case contracts.CodeUnavailable, contracts.CodeDeadlineExceeded, contracts.CodeInternal, contracts.CodeResourceExhausted:
		return contracts.Errorf(contracts.CodeUnavailable, "%s service unavailable: %s", service, ce.Message)
	}
	return ce
}
