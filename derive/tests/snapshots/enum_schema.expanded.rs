const _: () = {
    #[automatically_derived]
    impl ::crdforge::KubeSchema for Source {
        const __READS_AS_MAP: bool = true;
        fn kube_schema(
            ctx: &mut ::crdforge::schema::Context,
        ) -> ::crdforge::schema::Schema {
            ctx.enter(
                ::core::any::type_name::<Self>(),
                |ctx| {
                    let variants = ::crdforge::__private::vec([
                        ::crdforge::schema::VariantDesc {
                            name: "git",
                            payload: ::crdforge::schema::Payload::Struct(
                                ctx
                                    .at(
                                        "git",
                                        |ctx| {
                                            let fields = ::crdforge::__private::vec([
                                                ::crdforge::schema::FieldDesc {
                                                    name: "url",
                                                    schema: ctx
                                                        .at(
                                                            "url",
                                                            |ctx| <String as ::crdforge::KubeSchema>::kube_schema(ctx),
                                                        ),
                                                    required: !<String as ::crdforge::KubeSchema>::OPTIONAL,
                                                    flatten: false,
                                                    constraints: ::crdforge::schema::Constraints::DEFAULT,
                                                },
                                            ]);
                                            ::crdforge::schema::struct_schema(
                                                ctx,
                                                fields,
                                                &::crdforge::schema::Constraints::DEFAULT,
                                            )
                                        },
                                    ),
                            ),
                            description: ::core::option::Option::Some("From git."),
                        },
                        ::crdforge::schema::VariantDesc {
                            name: "empty",
                            payload: ::crdforge::schema::Payload::Unit,
                            description: ::core::option::Option::None,
                        },
                    ]);
                    ::crdforge::schema::enum_schema(
                        ctx,
                        ::crdforge::schema::Tagging::Internal {
                            tag: "type",
                        },
                        variants,
                        &::crdforge::schema::Constraints::DEFAULT,
                    )
                },
            )
        }
    }
    #[automatically_derived]
    impl ::crdforge::DeepCopy for Source {
        #[inline]
        fn deep_copy_into(&self, out: &mut Self) {
            match (self, out) {
                (Self::Git { url: __from_0 }, Self::Git { url: __out_0 }) => {
                    <String as ::crdforge::DeepCopy>::deep_copy_into(__from_0, __out_0);
                }
                (Self::Empty, Self::Empty) => {}
                #[allow(unreachable_patterns)]
                (__from, __out) => *__out = ::crdforge::DeepCopy::deep_copy(__from),
            }
        }
        #[inline]
        fn deep_copy(&self) -> Self {
            match self {
                Self::Git { url: __from_0 } => {
                    Self::Git {
                        url: <String as ::crdforge::DeepCopy>::deep_copy(__from_0),
                    }
                }
                Self::Empty => Self::Empty,
            }
        }
    }
    #[automatically_derived]
    impl ::crdforge::ApplyConfiguration for Source {
        type Configuration = Self;
    }
};
